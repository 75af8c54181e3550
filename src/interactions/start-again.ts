import type { Context } from 'koa';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { readSignedCookie, setSignedCookie } from '../http/signed-cookie.js';
import { startAgainUrlOf } from '../oidc/clients.js';

/**
 * Which client a sign-in page belonged to, once its interaction is gone. The interaction and the
 * provider's interaction cookie both expire after an hour, so a page left open longer (and then
 * submitted or reloaded) would know nothing. Our own cookie, scoped to the interaction's URL and
 * MACed with the tenant's cookie keys, keeps the client id for a day. It only ever chooses among
 * URLs the tenant's admins registered, so a forged or copied cookie could at worst point at
 * another registered client; the MAC keeps it honest anyway.
 */
const COOKIE = 'gh_interaction_client';
const REMEMBER_MS = 24 * 60 * 60 * 1000;

export function rememberClient(ctx: Context, tenant: TenantContext, path: string, clientId: string, secure: boolean): void {
  setSignedCookie(ctx, tenant, COOKIE, clientId, { path, maxAgeMs: REMEMBER_MS, secure });
}

/** The client of interaction `uid`: from the store while it lasts, else from our cookie. */
export async function clientOfInteraction(ctx: Context, tenant: TenantContext, uid: string | undefined): Promise<string | undefined> {
  const interaction = uid ? await tenant.provider.Interaction.find(uid).catch(() => undefined) : undefined;
  const fromStore = interaction?.params['client_id'];
  if (typeof fromStore === 'string') return fromStore;
  return readSignedCookie(ctx, tenant, COOKIE);
}

/** Where the user can start signing in to `clientId` again, if it registered such a URL. */
export async function startAgainUrl(tenant: TenantContext, clientId: string | undefined): Promise<string | undefined> {
  if (!clientId) return undefined;
  return startAgainUrlOf(await tenant.provider.Client.find(clientId).catch(() => undefined));
}
