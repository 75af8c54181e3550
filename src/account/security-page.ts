import type { Context } from 'koa';
import { mfaAuditEvents } from '../domain/audit.js';
import type { FactorSummary } from '../domain/mfa-factors.js';
import { csrfTokenFor, verifyForm } from '../http/forms.js';
import { proofOfWorkWidgetIfOn } from '../http/proof-of-work.js';
import { greetingName, sendAccountMail } from './account-mail.js';
import type { AccountConsole, SignedIn } from './console.js';
import { freshEnough } from './fresh.js';
import { smsAllowed } from './routes/security-sms.js';

/** The audit events of the console that change how the account signs in, as the mail says it. */
const factorChanges: Record<string, string> = {
  [mfaAuditEvents.factorEnrolled]: 'added',
  [mfaAuditEvents.factorRemoved]: 'removed',
  [mfaAuditEvents.recoveryCodesGenerated]: 'replaced',
};

const factorNames: Record<string, string> = {
  totp: 'an authenticator app',
  webauthn: 'a passkey or security key',
  sms: 'a phone for text-message codes',
  recovery_codes: 'recovery codes',
};

/** How a factor is named on the page. */
export function factorLabel(factor: FactorSummary): string {
  if (factor.type === 'recovery_codes') return 'Recovery codes';
  // The owner sees their own phone's number whole (only here).
  if (factor.type === 'sms') return `Phone: ${factor.name} (${factor.phone ?? ''})`;
  return factor.type === 'webauthn' ? `Passkey: ${factor.name}` : `Authenticator app: ${factor.name}`;
}

/** A change the console may make now: the user, the checked form (or JSON body) and their factors. */
export interface Change {
  current: SignedIn;
  fields: Record<string, unknown>;
  factors: FactorSummary[];
}

/**
 * What the Security section's route modules share (`routes/security.ts`, `routes/passkeys.ts`):
 * who is signed in, the rule for changes, the audit record and the page itself.
 */
export function securityPage(site: AccountConsole) {
  const { app } = site;
  const base = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/security`;

  /** The signed-in user, or a redirect to the console's front page (which offers to sign in). */
  const signedIn = async (ctx: Context): Promise<SignedIn | undefined> => {
    const current = await site.signedIn(ctx);
    if (!current) ctx.redirect(site.pathOf(site.tenantOf(ctx)));
    return current;
  };

  /**
   * For a change: the signed-in user with a CSRF-checked form and a fresh enough sign-in. When the
   * sign-in is too old or too weak, the browser signs in again and comes back to the page; a script
   * (`json`) is told where to send it (401 with `location`), as it cannot follow the redirect itself.
   */
  const forChange = async (ctx: Context, options: { json?: boolean } = {}): Promise<Change | undefined> => {
    const current = options.json ? await site.signedIn(ctx) : await signedIn(ctx);
    const tenant = site.tenantOf(ctx);
    const again = `${site.pathOf(tenant)}/login?fresh=security`;
    if (!current) {
      if (options.json) Object.assign(ctx, { status: 401, body: { error: 'login_required', error_description: 'Sign in again.', location: site.pathOf(tenant) } });
      return undefined;
    }
    const fields = verifyForm(ctx, tenant, `account:${current.id}`, new URL(app.config.publicUrl).origin);
    const factors = await app.mfa.factors.list(tenant.id, current.user._id);
    if (!freshEnough(current.session, factors, tenant.settings.securityPolicy, Math.floor(app.clock() / 1000))) {
      if (options.json) {
        Object.assign(ctx, { status: 401, body: { error: 'fresh_sign_in_required', error_description: 'Sign in again to change your factors.', location: again } });
      } else {
        ctx.status = 303;
        ctx.redirect(again);
      }
      return undefined;
    }
    return { current, fields, factors };
  };

  const audit = (ctx: Context, current: SignedIn, type: string, details: Record<string, unknown>) => {
    const tenant = site.tenantOf(ctx).id;
    tellOwnerOfFactorChange(ctx, current, type, details);
    return app.audit.record({
      tenant,
      type,
      actor: { type: 'user', id: current.user._id, tenant },
      target: { type: 'user', id: current.user._id },
      details: { ...details, via: 'account_console' },
      requestId: ctx.state.requestId as string,
    });
  };

  /**
   * The user is told by mail of every sign-in method added, removed or replaced (issue 14), so a
   * change made by someone else who got into the session does not go unnoticed. In the background,
   * like every account notice; an account without an address has no one to tell.
   */
  const tellOwnerOfFactorChange = (ctx: Context, current: SignedIn, type: string, details: Record<string, unknown>) => {
    const change = factorChanges[type];
    const to = current.user.email;
    if (!change || !to) return;
    const factor = type === mfaAuditEvents.recoveryCodesGenerated ? factorNames['recovery_codes']! : (factorNames[String(details['type'])] ?? 'a sign-in method');
    sendAccountMail(app, site.tenantOf(ctx), { to, template: 'factor_changed', values: { user_name: greetingName(current.user), factor, change }, requestId: ctx.state.requestId as string });
  };

  const showSecurity = async (ctx: Context, current: SignedIn, messages: { notice?: string; error?: string } = {}, status = 200) => {
    const tenant = site.tenantOf(ctx);
    const factors = await app.mfa.factors.list(tenant.id, current.user._id);
    ctx.status = status;
    ctx.body = await site.page(ctx, 'account-security', 'Security', {
      username: current.user.username,
      factors: factors.map((factor) => ({ ...factor, label: factorLabel(factor) })),
      hasRecoveryCodes: factors.some((factor) => factor.type === 'recovery_codes'),
      mfaRequired: tenant.settings.securityPolicy?.mfa === 'required',
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      totpUrl: `${base(ctx)}/totp`,
      recoveryUrl: `${base(ctx)}/recovery-codes`,
      removeUrl: `${base(ctx)}/factors`,
      passkeyUrl: `${base(ctx)}/passkeys`,
      smsUrl: smsAllowed(site, ctx) ? `${base(ctx)}/sms` : undefined,
      // Adding a phone texts a code: where the tenant asks, the form needs a solved proof of work first.
      smsProofOfWork: smsAllowed(site, ctx) ? proofOfWorkWidgetIfOn(tenant, 'sms', 'onsubmit') : undefined,
      backUrl: site.pathOf(tenant),
      ...messages,
    });
  };

  return { base, signedIn, forChange, audit, showSecurity };
}
