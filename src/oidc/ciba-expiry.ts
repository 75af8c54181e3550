/**
 * Expiry is not a result (CIBA Core 11 answers a late poll `expired_token`; oidc-provider records
 * nothing): Gatehouse audits `ciba.expired` when it notices one, at a poll after the expiry or at
 * the periodic sweep (`ciba-sweep.ts`), once per request whichever instance notices it and however
 * many notice it at once, and never for a request that was decided (docs/ciba.md, "Expiry").
 */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import type { AuditRepository } from '../domain/audit.js';
import { CIBA_GRANT } from '../domain/client-metadata.js';
import { cibaAuditEvents } from './ciba.js';
import { closeOpenRequest, requestDigest, settleOnce, unsettle, type OpenRequest } from './ciba-open.js';

export interface ExpiryDeps {
  tenant: string;
  ephemeral: EphemeralStore;
  audit: AuditRepository;
}

/**
 * Audits the expiry of `entry` if this caller is the first to end it:
 * actor the system (nobody acted; time did), target the user, with the client and when it expired.
 * The marker is written before the event, and taken back when the event cannot be stored, so a later
 * poll or sweep tries again; its entry in the open set goes once the event is stored.
 */
export async function auditExpiry(deps: ExpiryDeps, entry: OpenRequest, requestId?: string): Promise<boolean> {
  if (!(await settleOnce(deps.ephemeral, deps.tenant, entry.id, 'expired'))) return false;
  try {
    await deps.audit.record({
      tenant: deps.tenant,
      type: cibaAuditEvents.expired,
      actor: { type: 'system', id: 'ciba-expiry', tenant: deps.tenant },
      target: { type: 'user', id: entry.account },
      details: { client: entry.client, expired_at: new Date(entry.exp * 1000).toISOString() },
      ...(requestId ? { requestId } : {}),
    });
  } catch (error) {
    await unsettle(deps.ephemeral, deps.tenant, entry.id, 'expired').catch(() => undefined);
    throw error;
  }
  await closeOpenRequest(deps.ephemeral, deps.tenant, entry.id);
  return true;
}

type ProviderContext = Parameters<Parameters<Provider['use']>[0]>[0] & { oidc?: KoaContextWithOIDC['oidc'] };

/**
 * A poll answered `expired_token` audits the expiry, as oidc-provider middleware after the token
 * endpoint has answered (the client is authenticated by then, and the request is its own). The
 * provider says `expired_token` for an expired request even when it was decided and never
 * collected, so the request is read back: a decided one has a result and is left alone (its marker
 * says so too). A failure to audit is logged, never turned into the client's answer: the answer is
 * right, and the sweep tries again.
 */
export function auditLatePolls(provider: Provider, deps: ExpiryDeps & { logger: Logger }): void {
  provider.use(async (ctx: ProviderContext, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 400) return;
    if (ctx.oidc?.params?.['grant_type'] !== CIBA_GRANT || (ctx.body as { error?: unknown } | undefined)?.error !== 'expired_token') return;
    const id = ctx.oidc.params['auth_req_id'];
    const client = ctx.oidc.client?.clientId;
    if (typeof id !== 'string' || client === undefined) return;
    try {
      const request = await provider.BackchannelAuthenticationRequest.find(id, { ignoreExpiration: true });
      if (!request || request.grantId || request.error || typeof request.exp !== 'number' || request.clientId !== client) return;
      const entry = { id: requestDigest(request.jti), client, account: request.accountId ?? '', exp: request.exp };
      await auditExpiry(deps, entry, ctx.get('x-request-id') || undefined);
    } catch (error) {
      deps.logger.warn({ err: error, client }, 'could not audit the expiry of a CIBA request at a late poll; the sweep will try again');
    }
  });
}
