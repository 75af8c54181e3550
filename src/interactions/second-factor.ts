import { z } from 'zod';
import { chargeMfa } from '../authn/mfa-throttle.js';
import { mfaAuditEvents } from '../domain/audit.js';
import { parseFields } from '../http/forms.js';
import { knownDeviceOf } from './known-device.js';
import { readState, type FactorRecord } from './state.js';
import { waitText, type StepContext } from './step.js';

/** A code field: bounded here, normalised and checked by the factor services. */
export const codeFields = z.object({ code: z.string().max(64) });

/** What a code step shows again after a refused code: the message for its field, and the status. */
export interface Refusal {
  error: string;
  status: number;
}

/**
 * The shared half of every code step (TOTP, recovery code): who is signing in (the policy named the
 * account), one attempt charged to the MFA budgets before the code is checked (a known browser has
 * its own, `authn/mfa-throttle.ts`), the check itself, the audit event, and on success the factor
 * added to the login state and the policy asked what is next. Returns the refusal to show, if any.
 */
export async function proveCode(
  step: StepContext,
  method: FactorRecord['method'],
  check: (accountId: string, code: string) => Promise<{ ok: true; factorId?: string } | { ok: false }>,
): Promise<Refusal | undefined> {
  const { code } = parseFields(codeFields, step.verifyForm());
  const { app, tenant } = step;
  const accountId = step.accountId;
  // The policy names the account of every code step; a POST here without one was refused already.
  if (!accountId) return { error: 'Start signing in again.', status: 400 };
  const now = app.clock();
  const device = await knownDeviceOf(step.ctx, tenant, app.devices, accountId, now);
  const charge = await chargeMfa(app.throttle, { tenant: tenant.id, accountId, ...(device ? { device } : {}) });
  const audit = (type: string, details?: unknown) =>
    app.audit.record({ tenant: tenant.id, type, actor: { type: 'user', id: accountId, tenant: tenant.id }, target: { type: 'user', id: accountId }, requestId: step.ctx.state.requestId as string, ...(details ? { details } : {}) });
  if (!charge.ok) {
    step.ctx.set('Retry-After', String(charge.retryAfter));
    step.ctx.state.log?.info({ event: 'mfa.throttled', tenant: tenant.id, knownDevice: Boolean(device) }, 'second factor throttled');
    return { error: `Too many wrong codes. Try again in ${waitText(charge.retryAfter)}.`, status: 429 };
  }
  let verdict: Awaited<ReturnType<typeof check>>;
  try {
    verdict = await check(accountId, code);
  } catch (error) {
    await charge.settle('failed');
    throw error;
  }
  if (!verdict.ok) {
    await charge.settle('failed');
    await audit(mfaAuditEvents.failed, { method });
    return { error: 'That code is not valid. Check it and try again.', status: 401 };
  }
  await charge.settle('succeeded');
  await audit(method === 'rec' ? mfaAuditEvents.recoveryCodeUsed : mfaAuditEvents.succeeded, { method });
  const state = readState(step.interaction);
  await step.continueWith(step, { ...state, factors: [...state.factors, { method, at: now, ...(verdict.factorId ? { factorId: verdict.factorId } : {}) }] });
  return undefined;
}
