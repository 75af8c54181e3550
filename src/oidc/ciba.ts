import type Provider from 'oidc-provider';
import { errors, type CIBATriggerAuthenticationDevice, type Configuration } from 'oidc-provider';
import type { Logger } from 'pino';
import type { ChangeFeed } from '../../adapters/change-feed.js';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import type { AuditRepository } from '../domain/audit.js';
import { announceCibaChange } from '../domain/ciba.js';
import type { UserRepository } from '../domain/users.js';
import { trackOpenRequest } from './ciba-open.js';

type Ciba = NonNullable<NonNullable<Configuration['features']>['ciba']>;

/** Audit types of CIBA requests (docs/ciba.md). */
export const cibaAuditEvents = {
  requested: 'ciba.requested',
  approved: 'ciba.approved',
  denied: 'ciba.denied',
  expired: 'ciba.expired',
  pingFailed: 'ciba.ping_failed',
  /** a notification channel could not tell the user (`messaging/ciba-notifications.ts`) */
  notificationFailed: 'ciba.notification_failed',
} as const;

/**
 * Tells the user of an accepted request through the tenant's channels (docs/ciba.md,
 * notifications; `messaging/ciba-notifications.ts`). Called once the request is saved; it returns at
 * once and never throws: the client's answer waits for no SMS gateway or webhook.
 */
export type CibaNotify = (accepted: { request: Parameters<CIBATriggerAuthenticationDevice>[1]; expiresAt: number; accountId: string; client: { clientId: string; clientName?: string | undefined }; requestId?: string }) => void;

/** A binding message: 1-64 characters, none of them control or formatting characters (bidi overrides included). */
export const BINDING_MESSAGE_MAX = 64;
const unprintable = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** E.164: a plus and up to 15 digits. */
const e164 = /^\+[1-9]\d{6,14}$/;

/**
 * Who a `login_hint` names: a username or e-mail address (the sign-in's identifiers), or an E.164
 * phone number held by exactly one user. A disabled user is no one, the same answer as an unknown
 * one (`unknown_user_id`), so the endpoint tells nothing about which accounts exist and are usable.
 */
export async function userOfHint(users: UserRepository, tenant: string, hint: string): Promise<string | undefined> {
  if (hint.length === 0 || hint.length > 256) return undefined;
  if (e164.test(hint)) {
    const holders = await users.findByPhone(tenant, hint);
    return holders.length === 1 && !holders[0]!.disabled ? holders[0]!._id : undefined;
  }
  const user = await users.findByIdentifier(tenant, hint);
  return user && !user.disabled ? user._id : undefined;
}

/**
 * oidc-provider's CIBA hooks: `login_hint` resolution, the binding message rule, no
 * `login_hint_token` and no `user_code` (Gatehouse keeps no per-user CIBA PIN; discovery says
 * `backchannel_user_code_parameter_supported: false`), and the audit of each request.
 */
export function cibaFeature(deps: { tenant: string; enabled: boolean; users: UserRepository; audit: AuditRepository; ephemeral: EphemeralStore; changes: ChangeFeed; logger: Logger; notify?: CibaNotify | undefined }): Ciba {
  return {
    enabled: deps.enabled,
    deliveryModes: ['poll', 'ping'],
    processLoginHint: async (_ctx, hint) => (typeof hint === 'string' ? userOfHint(deps.users, deps.tenant, hint) : undefined),
    processLoginHintToken: async () => {
      throw new errors.InvalidRequest('login_hint_token is not supported: send login_hint (a username, e-mail address or E.164 phone number) or id_token_hint');
    },
    // Called for every request; only one that sends a user_code is refused.
    verifyUserCode: async (_ctx, _account, userCode) => {
      if (userCode !== undefined) throw new errors.InvalidRequest('user_code is not supported');
    },
    validateBindingMessage: async (_ctx, message) => {
      if (message === undefined) return;
      if (message.length === 0 || [...message].length > BINDING_MESSAGE_MAX || unprintable.test(message)) {
        throw new errors.InvalidBindingMessage(`binding_message must be 1 to ${BINDING_MESSAGE_MAX} characters, without control characters`);
      }
    },
    validateRequestContext: async () => {},
    triggerAuthenticationDevice: async (ctx, request, account, client) => {
      // Tracked for the expiry sweep (ciba-sweep.ts) before anything else can fail.
      await trackOpenRequest(deps.ephemeral, deps.tenant, request);
      // The saved request's `exp` is in its payload, not on this instance: now + its lifetime, as save() had it.
      const expiresAt = request.exp ?? Math.floor(Date.now() / 1000) + request.expiration;
      const requestId = ctx.get('x-request-id') || undefined;
      await deps.audit.record({
        tenant: deps.tenant,
        type: cibaAuditEvents.requested,
        actor: { type: 'client', id: client.clientId, tenant: deps.tenant },
        target: { type: 'user', id: account.accountId },
        details: { scope: request.scope, binding_message: request.params?.['binding_message'] },
        ...(requestId ? { requestId } : {}),
      });
      // The user's open console pages show it at once (the request is saved before this hook runs).
      await announceCibaChange(deps, deps.tenant, account.accountId);
      deps.notify?.({ request, expiresAt, accountId: account.accountId, client, ...(requestId ? { requestId } : {}) });
    },
  };
}

/**
 * oidc-provider's discovery says `backchannel_user_code_parameter_supported: true` whenever CIBA is
 * on, and its `discovery` option cannot override a key it sets. Gatehouse supports no user code, so
 * the document is corrected on its way out (the precomputed copy is taken through this too).
 */
export function correctCibaDiscovery(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.path === '/.well-known/openid-configuration' && body && typeof body === 'object' && 'backchannel_user_code_parameter_supported' in body) {
      body['backchannel_user_code_parameter_supported'] = false;
    }
  });
}
