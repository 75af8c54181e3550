import { mfaAuditEvents } from '../../domain/audit.js';
import { AppError } from '../../errors.js';
import { parseFields } from '../../http/forms.js';
import { codeFields } from '../second-factor.js';
import { readState, saveState, type LoginState } from '../state.js';
import type { InteractionStep, StepContext } from '../step.js';

/** What the page shows: the key as text and as a QR code. */
interface Shown {
  secret: string;
  qrCode: string;
}

const purposeOf = (step: StepContext, enrollmentId: string) => `login-enrollment:${step.tenant.id}:${step.interaction.uid}:${enrollmentId}`;

function opened(step: StepContext, enrollment: NonNullable<LoginState['enrollment']>): Shown {
  return JSON.parse(step.app.box.open(enrollment.sealed, purposeOf(step, enrollment.enrollmentId))) as Shown;
}

/**
 * The enrolment this interaction started, or a new one kept (sealed) on the login state, so a reload
 * or a wrong code shows the same QR code rather than a new secret.
 */
async function enrollmentFor(step: StepContext, accountId: string): Promise<Shown> {
  const state = readState(step.interaction);
  if (state.enrollment) return opened(step, state.enrollment);
  const { enrollmentId, secret, qrCode } = await step.app.mfa.totp.startEnrollment(step.tenant.id, accountId, 'Authenticator app');
  const shown: Shown = { secret, qrCode };
  await saveState(step.interaction, { ...state, enrollment: { enrollmentId, sealed: step.app.box.seal(JSON.stringify(shown), purposeOf(step, enrollmentId)) } });
  return shown;
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
      if (error instanceof AppError && error.code === 'invalid_totp_code') return show(step, opened(step, state.enrollment), 'That code is not valid. Enter the code your app shows now.', 400);
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
