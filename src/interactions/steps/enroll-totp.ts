import type { TotpEnrollment } from '../../authn/totp.js';
import { mfaAuditEvents } from '../../domain/audit.js';
import { AppError } from '../../errors.js';
import { parseFields } from '../../http/forms.js';
import { codeFields } from '../second-factor.js';
import { readState, saveState } from '../state.js';
import type { InteractionStep, StepContext } from '../step.js';

/** What the page shows: the key as text and as a QR code. */
type Shown = Pick<TotpEnrollment, 'secret' | 'qrCode'>;

/**
 * The enrolment this interaction started (only its id is kept on the login state: the key stays
 * sealed in the pending enrolment, which `pendingEnrollment` shows again), or a new one when there
 * is none or it expired, so a reload or a wrong code shows the same QR code rather than a new secret.
 */
async function enrollmentFor(step: StepContext, accountId: string): Promise<Shown> {
  const state = readState(step.interaction);
  const pending = state.enrollment && (await step.app.mfa.totp.pendingEnrollment(step.tenant.id, accountId, state.enrollment.enrollmentId));
  if (pending) return pending;
  const started = await step.app.mfa.totp.startEnrollment(step.tenant.id, accountId, 'Authenticator app');
  await saveState(step.interaction, { ...state, enrollment: { enrollmentId: started.enrollmentId } });
  return started;
}

async function show(step: StepContext, enrollment: Shown, error?: string, status = 200): Promise<void> {
  await step.render(
    'enroll-totp',
    'Set up an authenticator app',
    { action: `${step.base}/enroll-totp`, client: await step.clientName(), qrCode: enrollment.qrCode, secret: enrollment.secret, fieldErrors: error ? { code: error } : {} },
    status,
  );
}

/** Restarts the enrolment (expired or confirmed elsewhere): the next page shows a new QR code. */
async function restart(step: StepContext): Promise<void> {
  const { enrollment: _gone, ...state } = readState(step.interaction);
  await saveState(step.interaction, state);
  step.ctx.status = 303;
  step.ctx.redirect(step.base);
}

/**
 * The tenant requires MFA and the user has no factor: after the password, the user adds an
 * authenticator app inside the login (QR code rendered server side, and the key as text for manual
 * entry), confirms it with a code, and the login finishes with both factors. Audited. The first
 * factor is added on the strength of the password alone: that is what "required" with users who
 * have none means, and why removing the last factor under "required" is refused (docs/mfa.md).
 */
export const enrollTotpStep: InteractionStep<'enroll-totp'> = {
  name: 'enroll-totp',

  async render(step) {
    const accountId = step.accountId;
    if (!accountId) throw new AppError('invalid_request', 'Start signing in again.');
    await show(step, await enrollmentFor(step, accountId));
  },

  async submit(step) {
    const { code } = parseFields(codeFields, step.verifyForm());
    const accountId = step.accountId;
    const state = readState(step.interaction);
    if (!accountId || !state.enrollment) return restart(step);
    const { app, tenant } = step;
    let factor;
    try {
      factor = await app.mfa.totp.confirmEnrollment(tenant.id, accountId, state.enrollment.enrollmentId, code);
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_totp_code') return show(step, await enrollmentFor(step, accountId), 'That code is not valid. Enter the code your app shows now.', 400);
      if (error instanceof AppError && error.code === 'enrollment_not_found') return restart(step);
      throw error;
    }
    await app.audit.record({
      tenant: tenant.id,
      type: mfaAuditEvents.factorEnrolled,
      actor: { type: 'user', id: accountId, tenant: tenant.id },
      target: { type: 'user', id: accountId },
      details: { factorId: factor.id, type: factor.type, during: 'login' },
      requestId: step.ctx.state.requestId as string,
    });
    const { enrollment: _done, ...rest } = state;
    await step.continueWith(step, { ...rest, factors: [...rest.factors, { method: 'otp', at: app.clock(), factorId: factor.id }] });
  },
};
