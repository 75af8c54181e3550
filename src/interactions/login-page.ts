import type { PowWidget } from '../http/proof-of-work.js';
import type { StepContext } from './step.js';

/**
 * The sign-in page, shown by the password step and, after a refused passkey, by the passkey step:
 * the username and password form, and where the policy offers a passkey (`passkey` among the
 * accepted steps) the "Sign in with a passkey" button and browser autofill of passkeys, and where
 * failures made it due the proof-of-work widget inside the password form.
 */
export async function showLoginPage(
  step: StepContext,
  { username = '', error, status = 200, proofOfWork }: { username?: string; error?: string | undefined; status?: number; proofOfWork?: PowWidget | undefined } = {},
): Promise<void> {
  const { decision } = step.decided;
  const offersPasskey = decision.kind === 'step' && (decision.step === 'passkey' || decision.alternatives.includes('passkey'));
  const offersSignUp = decision.kind === 'step' && (decision.step === 'sign-up' || decision.alternatives.includes('sign-up'));
  await step.render(
    'login',
    'Sign in',
    {
      action: `${step.base}/password`,
      client: await step.clientName(),
      username,
      error,
      fieldErrors: {},
      forgotPasswordUrl: `${new URL(step.tenant.issuer).pathname}/account/password-reset`,
      ...(offersSignUp ? { signUpUrl: `${step.base}/sign-up` } : {}),
      // The proof-of-work widget, once failures made it due (interactions/sign-in-proof-of-work.ts).
      ...(proofOfWork ? { proofOfWork } : {}),
      ...(offersPasskey ? { passkey: { optionsUrl: `${step.base}/passkey/options`, action: `${step.base}/passkey` } } : {}),
    },
    status,
  );
}
