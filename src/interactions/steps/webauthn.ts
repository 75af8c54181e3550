import { AppError } from '../../errors.js';
import { proveFactor } from '../second-factor.js';
import { waitText, type InteractionStep, type StepContext } from '../step.js';
import { assertionOf, challengeBinding } from '../webauthn-assertion.js';

async function show(step: StepContext, error?: string, status = 200): Promise<void> {
  const { decision } = step.decided;
  const alternatives = decision.kind === 'step' ? decision.alternatives : [];
  await step.render(
    'webauthn',
    'Use your passkey or security key',
    {
      action: `${step.base}/webauthn`,
      optionsUrl: `${step.base}/webauthn/options`,
      client: await step.clientName(),
      totpUrl: alternatives.includes('totp') ? `${step.base}/totp` : undefined,
      recoveryUrl: alternatives.includes('recovery-code') ? `${step.base}/recovery-code` : undefined,
      error,
    },
    status,
  );
}

/**
 * Second factor: an assertion of one of the account's WebAuthn credentials (a security key or a
 * passkey; `authn/webauthn.ts`). The challenge is bound to this interaction, the credential must be
 * the account's, user verification is not required (the password was the other factor). Attempts
 * are charged to the MFA budgets like codes and audited; the amr is the verdict's `hwk` or `swk`.
 */
export const webauthnStep: InteractionStep<'webauthn'> = {
  name: 'webauthn',

  async render(step) {
    await show(step);
  },

  async options(step) {
    // The policy names the account of every factor step; without one there is nothing to ask for.
    const userId = step.accountId;
    if (!userId) throw new AppError('invalid_request', 'Start signing in again.');
    const { options } = await step.app.mfa.webauthn.startAuthentication(step.tenant.settings, { bindTo: challengeBinding(step, 'webauthn'), userId });
    return options;
  },

  async submit(step) {
    const response = assertionOf(step);
    const outcome = await proveFactor(step, 'webauthn', async (userId) => {
      const verdict = await step.app.mfa.webauthn.finishAuthentication(step.tenant.settings, { bindTo: challengeBinding(step, 'webauthn'), response, userId, requireUserVerification: false });
      return verdict.ok ? { ok: true, record: { method: verdict.amr, factorId: verdict.factorId, userVerified: verdict.userVerified } } : { ok: false, reason: verdict.reason };
    });
    if (outcome === 'refused') return show(step, 'That passkey or security key could not be verified. Try again, or use another way to sign in.', 401);
    if (outcome) return show(step, `Too many failed attempts. Try again in ${waitText(outcome.throttled)}.`, 429);
  },
};
