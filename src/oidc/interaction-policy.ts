import { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { acrValuesOf, essentialAcrOf, isAcr, requiredAcr, satisfies, type MfaMode } from '../authn/assurance.js';

const { Check, Prompt, base } = interactionPolicy;

/** The acr a request needs: its `acr_values` (the client's `default_acr_values` folded in), an essential `acr` claim, the client's minimum and the tenant's policy. */
function requiredFor(ctx: KoaContextWithOIDC, tenantMfa: MfaMode) {
  const { oidc } = ctx;
  const minimum = oidc.client?.['minimum_acr'];
  return requiredAcr({ acrValues: acrValuesOf(oidc.params?.['acr_values']), essentialAcr: essentialAcrOf(oidc.params?.['claims']), clientMinimum: isAcr(minimum) ? minimum : undefined, tenantMfa });
}

/**
 * oidc-provider's prompts (login, then consent) with two login checks of ours.
 *
 * `account_unavailable`: a session whose account is gone or disabled counts as no session. Without it
 * such a session still names its account, `findAccount` returns nothing, no grant is loaded, and the
 * consent prompt's checks fail on the missing grant: a 500 for every authorization request from that
 * browser until the session expires. With it the browser gets the login page, and `prompt=none`
 * answers `login_required` (OIDC Core 3.1.2.6). Normally the session is already gone
 * (`oidc/end-sessions.ts` ends it when an admin disables or deletes the user); this covers a user
 * removed any other way, or a session saved again by a request that was in flight at that moment.
 *
 * `acr_unmet` (step-up): a session whose amr does not reach the acr the request, the client's
 * `minimum_acr` or the tenant's `security_policy.mfa` requires gets an interaction, where the login
 * policy asks only for the missing factor; with `prompt=none` the client gets `interaction_required`.
 * It replaces the provider's `essential_acr(s)` checks, which compare acr strings for equality
 * (a multi-factor session would not satisfy a request for single-factor) and ignore `acr_values`,
 * so an existing password session answered a multi-factor request with a code and no interaction.
 */
export function interactionPolicyFor(tenantMfa: MfaMode, { signUp }: { signUp: boolean } = { signUp: false }): NonNullable<NonNullable<Configuration['interactions']>['policy']> {
  const policy = base();
  // OpenID Connect Initiating User Registration 1.0: `prompt=create` asks for the sign-up page. The
  // provider lists a prompt in `prompt_values_supported` and accepts it only while it is in the
  // policy, so a tenant without sign-up answers `invalid_request` to it (and to it with `none`,
  // as to any prompt combined with `none`). Requestable with no checks of its own: it is pending
  // until the interaction's result carries `create` (`interactions/finish.ts`).
  if (signUp) policy.add(new Prompt({ name: 'create', requestable: true }), 0);
  const login = policy.get('login');
  if (!login) throw new Error("oidc-provider's base interaction policy has no login prompt");
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  login.checks.add(
    new Check('account_unavailable', 'the signed-in account is no longer available', 'login_required', (ctx) => {
      return Boolean(ctx.oidc.session?.accountId) && !ctx.oidc.account;
    }),
  );
  login.checks.add(
    new Check('acr_unmet', 'the session does not meet the requested authentication level', 'interaction_required', (ctx) => {
      const { session } = ctx.oidc;
      if (!session?.accountId) return false;
      const required = requiredFor(ctx, tenantMfa);
      const unmet = required === 'unknown' || !satisfies(required, session.amr ?? []);
      // A login our pipeline just finished is never sent round again: its policy reads the same
      // requirement, so this would be a bug, and a loop of interactions is the worst way to show it.
      if (unmet && ctx.oidc.result?.['login']) throw new errors.UnmetAuthenticationRequirements('the login did not reach the requested authentication level');
      return unmet;
    }),
  );
  return policy;
}
