import type { AppContext } from '../app-context.js';
import { mfaAuditEvents } from '../domain/audit.js';
import type { User } from '../domain/users.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { greetingName, sendAccountMail } from './account-mail.js';

const factorNames: Record<string, string> = { totp: 'an authenticator app', webauthn: 'a passkey', sms: 'a phone for text message codes', recovery_codes: 'recovery codes' };
const changes: Record<string, string> = { [mfaAuditEvents.factorEnrolled]: 'added', [mfaAuditEvents.factorRemoved]: 'removed', [mfaAuditEvents.recoveryCodesGenerated]: 'replaced' };

/**
 * Tells the user by mail (`factor_changed`, in the background) that a sign-in factor was added,
 * removed or replaced, so someone who took over a session cannot quietly add their own. Called with
 * every audit event of the console's Security section; events that change no factor send nothing.
 */
export function noticeFactorChange(app: AppContext, tenant: TenantContext, user: User, event: string, factorType: unknown, requestId: string): void {
  const change = changes[event];
  if (!change || !user.email) return;
  const factor = factorNames[event === mfaAuditEvents.recoveryCodesGenerated ? 'recovery_codes' : String(factorType)] ?? 'a sign-in method';
  sendAccountMail(app, tenant, { to: user.email, template: 'factor_changed', values: { user_name: greetingName(user), factor, change }, requestId });
}
