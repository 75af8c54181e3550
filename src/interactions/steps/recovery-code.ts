import { proveCode } from '../second-factor.js';
import type { InteractionStep, StepContext } from '../step.js';

async function show(step: StepContext, error?: string, status = 200): Promise<void> {
  await step.render('recovery-code', 'Use a recovery code', { action: `${step.base}/recovery-code`, client: await step.clientName(), fieldErrors: error ? { code: error } : {} }, status);
}

/** Second factor when the authenticator is lost: one of the user's recovery codes, each usable once (audited). */
export const recoveryCodeStep: InteractionStep<'recovery-code'> = {
  name: 'recovery-code',

  async render(step) {
    await show(step);
  },

  async submit(step) {
    const refused = await proveCode(step, 'rec', async (accountId, code) => ((await step.app.mfa.recoveryCodes.use(step.tenant.id, accountId, code)) ? { ok: true } : { ok: false }));
    if (refused) await show(step, refused.error, refused.status);
  },
};
