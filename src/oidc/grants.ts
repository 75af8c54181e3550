import type { Configuration, Grant } from 'oidc-provider';
import type { ClientRepository } from '../domain/clients.js';
import { accessOf, type ConsentedAccess, type ConsentMemory } from './consents.js';

export interface GrantDeps {
  tenant: string;
  clients: ClientRepository;
  consents: ConsentMemory;
}

/** When the client was registered (epoch ms); `undefined` for the built-in account console or a client gone. */
async function registrationOf(deps: GrantDeps, clientId: string): Promise<number | undefined> {
  return (await deps.clients.get(deps.tenant, clientId))?.createdAt.getTime();
}

/** What a grant allows. */
function grantedBy(grant: Grant): ConsentedAccess {
  return { scope: grant.getOIDCScope(), claims: grant.getOIDCClaims(), resources: { ...grant.resources } };
}

/** Adds to the grant what `access` allows and it lacks; true when anything was added. */
function extend(grant: Grant, access: ConsentedAccess): boolean {
  const has = new Set(grant.getOIDCScope().split(' '));
  const scopes = access.scope.split(' ').filter((scope) => scope && !has.has(scope));
  const hasClaim = new Set(grant.getOIDCClaims());
  const claims = access.claims.filter((claim) => !hasClaim.has(claim));
  if (scopes.length) grant.addOIDCScope(scopes);
  if (claims.length) grant.addOIDCClaims(claims);
  let added = scopes.length > 0 || claims.length > 0;
  for (const [indicator, scope] of Object.entries(access.resources)) {
    const granted = new Set(grant.getResourceScope(indicator).split(' '));
    const missing = scope.split(' ').filter((name) => name && !granted.has(name));
    if (missing.length) grant.addResourceScope(indicator, missing);
    added ||= missing.length > 0;
  }
  return added;
}

/**
 * oidc-provider's `loadExistingGrant`: the grant an authorization request is checked against, so
 * the consent prompt asks only for what it lacks. The provider's default finds the grant of the
 * browser session only, so every new sign-in asked for consent again. This one takes the session's
 * grant as the default does (or, without one, a new grant for this session: grants die with their
 * session at logout, remembered consent must not) and adds what the user allowed this client
 * before (`consents.ts`). A grant it made or changed is saved at once: when nothing is left to ask
 * the provider issues the code straight from it.
 */
export function loadExistingGrantFor(deps: GrantDeps): NonNullable<Configuration['loadExistingGrant']> {
  return async (ctx) => {
    const { oidc } = ctx;
    const accountId = oidc.account?.accountId;
    const clientId = oidc.client?.clientId;
    const grantId = oidc.result?.['consent']?.grantId ?? (clientId ? oidc.session?.grantIdFor(clientId) : undefined);
    const found = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
    if (!accountId || !clientId) return found;
    // A grant of another account or client is the provider's to refuse, as it does by default.
    if (found && (found.accountId !== accountId || found.clientId !== clientId)) return found;
    const registered = await registrationOf(deps, clientId);
    const remembered = registered === undefined ? undefined : await deps.consents.find(accountId, clientId, registered);
    if (!remembered) return found;
    const grant = found ?? new oidc.provider.Grant({ accountId, clientId });
    if (extend(grant, accessOf(remembered)) || !found) await grant.save();
    return grant;
  };
}

/**
 * Remembers what the grant allows, after the user consented to it on the consent page. Clients
 * not in the registry (the account console) are first-party and never ask, so nothing is kept.
 */
export async function rememberConsent(deps: GrantDeps, grant: Grant): Promise<void> {
  const { accountId, clientId } = grant;
  if (!accountId || !clientId) return;
  const registered = await registrationOf(deps, clientId);
  if (registered === undefined) return;
  await deps.consents.remember(accountId, clientId, registered, grantedBy(grant));
}
