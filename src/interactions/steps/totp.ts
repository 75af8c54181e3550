import { proveCode } from '../second-factor.js';
import type { InteractionStep, StepContext } from '../step.js';

async function show(step: StepContext, error?: string, status = 200): Promise<void> {
  const { decision } = step.decided;
  const offersRecovery = decision.kind === 'step' && decision.alternatives.includes('recovery-code');
  const offersSms = decision.kind === 'step' && decision.alternatives.includes('sms');
  // Shown as the alternative of a security key (the step the policy asks for): a way back to it.
  const keyFirst = decision.kind === 'step' && decision.step === 'webauthn';
  await step.render(
    'totp',
    'Enter your code',
    {
      action: `${step.base}/totp`,
      client: await step.clientName(),
      recoveryUrl: offersRecovery ? `${step.base}/recovery-code` : undefined,
      smsUrl: offersSms ? `${step.base}/sms` : undefined,
      keyUrl: keyFirst ? `${step.base}/webauthn` : undefined,
      fieldErrors: error ? { code: error } : {},
    },
    status,
  );
}

/**
 * Second factor: a code of the user's authenticator app (RFC 6238 through `authn/totp.ts`: each
 * code once, the current step and the one before). Links to the recovery-code step when the user
 * has recovery codes.
 */
export const totpStep: InteractionStep<'totp'> = {
  name: 'totp',

  async render(step) {
    await show(step);
  },

  async submit(step) {
    const refused = await proveCode(step, 'otp', (accountId, code) => step.app.mfa.totp.verify(step.tenant.id, accountId, code));
    if (refused) await show(step, refused.error, refused.status);
  },
};
