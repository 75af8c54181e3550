import { interactionPolicy, type Configuration } from 'oidc-provider';

const { Check, base } = interactionPolicy;

/**
 * oidc-provider's prompts (login, then consent) plus one login check: a session whose account is
 * gone or disabled counts as no session. Without it such a session still names its account,
 * `findAccount` returns nothing, no grant is loaded, and the consent prompt's checks fail on the
 * missing grant: a 500 for every authorization request from that browser until the session
 * expires. With it the browser gets the login page, and `prompt=none` answers `login_required`
 * (OIDC Core 3.1.2.6). Normally the session is already gone (`oidc/end-sessions.ts` ends it when an
 * admin disables or deletes the user); this covers a user removed any other way, or a session saved
 * again by a request that was in flight at that moment.
 */
export function interactionPolicyFor(): NonNullable<NonNullable<Configuration['interactions']>['policy']> {
  const policy = base();
  const login = policy.get('login');
  if (!login) throw new Error("oidc-provider's base interaction policy has no login prompt");
  login.checks.add(
    new Check('account_unavailable', 'the signed-in account is no longer available', 'login_required', (ctx) => {
      return Boolean(ctx.oidc.session?.accountId) && !ctx.oidc.account;
    }),
  );
  return policy;
}
