import type Router from '@koa/router';
import { accountAuditEvents, mfaAuditEvents, type AuditEvent } from '../../domain/audit.js';
import { clientNamer } from '../client-names.js';
import type { AccountConsole } from '../console.js';

/** How many events the page shows: the recent ones; the full trail is the operators' (admin API). */
export const ACTIVITY_LIMIT = 30;

/** What each kind of event says to the account's owner; events not listed here are not shown. */
const labels: Readonly<Record<string, string>> = {
  [accountAuditEvents.signedIn]: 'Signed in',
  [accountAuditEvents.signInFailed]: 'Wrong password entered',
  [mfaAuditEvents.failed]: 'Wrong second-factor code entered',
  [mfaAuditEvents.factorEnrolled]: 'Second factor added',
  [mfaAuditEvents.factorRemoved]: 'Second factor removed',
  [mfaAuditEvents.factorsReset]: 'All second factors removed by an administrator',
  [mfaAuditEvents.recoveryCodesGenerated]: 'New recovery codes made',
  [mfaAuditEvents.recoveryCodeUsed]: 'Recovery code used',
  [mfaAuditEvents.webauthnCounterRegressed]: 'A passkey was used that may have been copied',
  'user.password_set': 'Password set by an administrator',
  'user.password_changed': 'Password changed',
  'user.password_removed': 'Password removed by an administrator',
  'user.disabled': 'Account disabled',
  'user.enabled': 'Account enabled',
  'user.sign_in_devices_revoked': 'Remembered browsers forgotten by an administrator',
  'user.password_reset_requested': 'Password reset link sent by e-mail',
  'user.password_reset': 'Password reset with an e-mailed link',
  'user.email_verified': 'E-mail address confirmed',
  'user.email_changed': 'E-mail address changed',
  'user.session_ended': 'Signed out of a session',
  'user.signed_out_everywhere': 'Signed out everywhere',
  'user.grant_revoked': 'An app’s access revoked',
};

/** The sign-in methods (`amr`) in words; `mfa` only says there were two kinds, which the list shows. */
const methodNames: Readonly<Record<string, string>> = { pwd: 'password', otp: 'authenticator app', rec: 'recovery code', hwk: 'security key', swk: 'passkey', sms: 'text message' };

type Details = { client_id?: unknown; ip?: unknown; user_agent?: unknown; amr?: unknown };

/** One line of the page, from what the event recorded (strings only; the view escapes them). */
function entryOf(event: AuditEvent, clientName: (id: string) => Promise<string>) {
  const details = (event.details ?? {}) as Details;
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  return (async () => {
    const client = text(details.client_id);
    const via = client ? await clientName(client) : undefined;
    return {
      what: labels[event.type]!,
      at: event.at.toISOString(),
      via,
      ip: text(details.ip),
      browser: text(details.user_agent),
      methods: Array.isArray(details.amr) ? details.amr.map((method) => (typeof method === 'string' ? methodNames[method] : undefined)).filter(Boolean).join(' and ') || undefined : undefined,
      alert: event.type !== accountAuditEvents.signedIn,
    };
  })();
}

/**
 * "Recent activity": the account's latest security events (sign-ins, wrong passwords and codes,
 * factor and password changes, what admins changed), newest first, from the audit trail, so the
 * owner can spot a sign-in that was not theirs. Only the account's own events: the trail is read by
 * target user, under the signed-in user's id.
 */
export function activityRoutes(router: Router, site: AccountConsole): void {
  router.get('/activity', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.redirect(`${site.pathOf(tenant)}/login?next=activity`);
      return;
    }
    // Read a few more than shown: events of kinds the page does not show are skipped.
    const events = (await site.app.audit.listForAccount(tenant.id, current.user._id, ACTIVITY_LIMIT * 2)).filter((event) => labels[event.type] !== undefined).slice(0, ACTIVITY_LIMIT);
    const clientName = clientNamer(site.app, tenant.id);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await site.page(ctx, 'account-activity', 'Recent activity', {
      entries: await Promise.all(events.map((event) => entryOf(event, clientName))),
      backUrl: site.pathOf(tenant),
    });
  });
}
