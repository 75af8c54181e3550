import { z } from 'zod';
import { chargeMfa } from '../authn/mfa-throttle.js';
import { mfaAuditEvents } from '../domain/audit.js';
import { parseFields } from '../http/forms.js';
import { knownDeviceOf } from '../http/known-device.js';
import { readState, type FactorRecord } from './state.js';
import { waitText, type StepContext } from './step.js';

/** A code field: bounded here, normalised and checked by the factor services. */
export const codeFields = z.object({ code: z.string().max(64) });

/** What a factor step shows again after a refused proof: the message for its field, and the status. */
export interface Refusal {
  error: string;
  status: number;
}

/** A second factor's check: the record to add to the login state, or why it failed (for the audit). */
export type FactorCheck = (accountId: string) => Promise<{ ok: true; record: Omit<FactorRecord, 'at'> } | { ok: false; reason?: string }>;

/**
 * The shared half of every second-factor step (TOTP, recovery code, WebAuthn): who is signing in
 * (the policy named the account), one attempt charged to the MFA budgets before the proof is checked
 * (a known browser has its own, `authn/mfa-throttle.ts`), the check itself, the audit event, and on
 * success the factor added to the login state and the policy asked what is next. `method` names the
 * attempt in the audit (`otp`, `rec`, `webauthn`). Returns `throttled` (with the wait) or `refused`.
 */
export async function proveFactor(step: StepContext, method: string, check: FactorCheck): Promise<{ throttled: number } | 'refused' | undefined> {
  const { app, tenant } = step;
  const accountId = step.accountId;
  // The policy names the account of every factor step; a POST here without one was refused already.
  if (!accountId) return 'refused';
  const now = app.clock();
  const device = await knownDeviceOf(step.ctx, tenant, app.devices, accountId, now);
  const charge = await chargeMfa(app.throttle, { tenant: tenant.id, accountId, ...(device ? { device } : {}) });
  const audit = (type: string, details: Record<string, unknown>) =>
    app.audit.record({ tenant: tenant.id, type, actor: { type: 'user', id: accountId, tenant: tenant.id }, target: { type: 'user', id: accountId }, requestId: step.ctx.state.requestId as string, details });
  if (!charge.ok) {
    step.ctx.set('Retry-After', String(charge.retryAfter));
    step.ctx.state.log?.info({ event: 'mfa.throttled', tenant: tenant.id, knownDevice: Boolean(device) }, 'second factor throttled');
    return { throttled: charge.retryAfter };
  }
  let verdict: Awaited<ReturnType<FactorCheck>>;
  try {
    verdict = await check(accountId);
  } catch (error) {
    await charge.settle('failed');
    throw error;
  }
  if (!verdict.ok) {
    await charge.settle('failed');
    await audit(mfaAuditEvents.failed, { method, ...(verdict.reason ? { reason: verdict.reason } : {}) });
    return 'refused';
  }
  await charge.settle('succeeded');
  const { record } = verdict;
  await audit(record.method === 'rec' ? mfaAuditEvents.recoveryCodeUsed : mfaAuditEvents.succeeded, { method: record.method, ...(record.factorId && method === 'webauthn' ? { factorId: record.factorId } : {}) });
  const state = readState(step.interaction);
  await step.continueWith(step, { ...state, factors: [...state.factors, { ...record, at: now }] });
  return undefined;
}

/** A code step (TOTP, recovery code): the `code` field through {@link proveFactor}. Returns the refusal to show, if any. */
export async function proveCode(
  step: StepContext,
  method: FactorRecord['method'],
  check: (accountId: string, code: string) => Promise<{ ok: true; factorId?: string } | { ok: false }>,
): Promise<Refusal | undefined> {
  const { code } = parseFields(codeFields, step.verifyForm());
  const outcome = await proveFactor(step, method, async (accountId) => {
    const verdict = await check(accountId, code);
    return verdict.ok ? { ok: true, record: { method, ...(verdict.factorId ? { factorId: verdict.factorId } : {}) } } : { ok: false };
  });
  if (outcome === undefined) return undefined;
  if (outcome === 'refused') return step.accountId ? { error: 'That code is not valid. Check it and try again.', status: 401 } : { error: 'Start signing in again.', status: 400 };
  return { error: `Too many wrong codes. Try again in ${waitText(outcome.throttled)}.`, status: 429 };
}
