import type Provider from 'oidc-provider';

/** A browser session the user has just ended at the provider's logout confirmation. */
export interface EndedBrowserSession {
  accountId: string;
  /** the session's `authorizations`: per client, the `sid` it was given */
  sids: Record<string, string>;
  /** where the provider sends the browser next (the client's post-logout redirect URI, or its signed-out page) */
  location: string;
}

/** Answers where the browser goes instead (a SAML logout through the session's apps), or undefined to keep the provider's. */
export type AfterLogout = (ended: EndedBrowserSession) => Promise<string | undefined>;

/** What this middleware reads of the provider's request context after the route ran (not in its typings). */
interface LogoutContext {
  oidc?: { route?: string; params?: { logout?: unknown }; session?: { accountId?: string; authorizations?: Record<string, { sid?: string } | undefined> } };
}

/**
 * RP-Initiated Logout 1.0 section 3 leaves what happens after the End-User confirms to the OP:
 * when the whole session ended (the confirmation's `logout=yes`, which the account console's
 * sign-out uses too), `after` may send the browser elsewhere first, and on to the provider's own
 * destination from there. The provider has already removed the session and sent its OIDC clients
 * their back-channel logout tokens by then; this only changes where the browser goes.
 */
export function continueAfterLogout(provider: Provider, after: AfterLogout): void {
  provider.use(async (ctx, next) => {
    await next();
    const { oidc } = ctx as unknown as LogoutContext;
    if (oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !oidc.params?.logout) return;
    const accountId = oidc.session?.accountId;
    const location = ctx.response.get('Location');
    if (!accountId || !location) return;
    const sids: Record<string, string> = {};
    for (const [clientId, authorization] of Object.entries(oidc.session?.authorizations ?? {})) if (typeof authorization?.sid === 'string') sids[clientId] = authorization.sid;
    const instead = await after({ accountId, sids, location });
    if (instead) ctx.redirect(instead);
  });
}
