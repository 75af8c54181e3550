import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { endSessionByHandle, grantsOf, revokeAccountGrant, sessionsOf, type EndedOne, type GrantView, type SessionView } from '../../oidc/account-sessions.js';
import type { TenantContext } from '../../tenancy/tenant-context.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty } from './common.js';
import { loadUser, loadUserToChange, userParams } from './users.js';
import { endSessionsAndAudit } from './user-sessions.js';

/**
 * A user's browser sessions and grants (issue 14): list them, sign one session out or all of
 * them, revoke what an app was allowed. Ending goes through the shared end-session service
 * (`oidc/end-sessions.ts`): the session's clients that registered a back-channel logout URI are
 * told, and the grants it held are revoked with their tokens. Session ids are shown as hashes
 * (the real id is the session cookie's value).
 */

const sessionParams = userParams.extend({ session: z.string().regex(/^[A-Za-z0-9_-]{32}$/, 'a session id from the list') });
const grantParams = userParams.extend({ grant: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'a grant id from the list') });

const when = (seconds: number | undefined) => (seconds === undefined ? null : new Date(seconds * 1000).toISOString());

const sessionOut = z.object({
  id: z.string().describe('a hash of the session (never the session cookie)'),
  created_at: z.string().nullable(),
  auth_time: z.string().nullable().describe('when the user last signed in on it (a step-up moves it)'),
  expires_at: z.string().nullable(),
  last_seen_at: z.string().nullable().describe('when the browser last came through the provider with it (a sign-in, an app’s authorization request, the logout page); token refreshes do not move it'),
  amr: z.array(z.string()),
  acr: z.string().nullable(),
  clients: z.array(z.string()).describe('the clients this session signed in to'),
});

const grantOut = z.object({
  id: z.string(),
  client_id: z.string(),
  scopes: z.array(z.string()),
  resources: z.record(z.string(), z.array(z.string())),
  created_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});

const sessionJson = (session: SessionView): z.input<typeof sessionOut> => ({
  id: session.id,
  created_at: when(session.createdAt),
  auth_time: when(session.authTime),
  expires_at: when(session.expiresAt),
  last_seen_at: when(session.lastSeenAt),
  amr: session.amr ?? [],
  acr: session.acr ?? null,
  clients: session.clients,
});

const grantJson = (grant: GrantView): z.input<typeof grantOut> => ({
  id: grant.id,
  client_id: grant.clientId,
  scopes: grant.scopes,
  resources: grant.resources,
  created_at: when(grant.createdAt),
  expires_at: when(grant.expiresAt),
});

async function sessionsOfTenant(request: AdminRequest<unknown, unknown, unknown>): Promise<TenantContext> {
  const tenant = await request.pool.get(request.tenant);
  if (!tenant) throw new AppError('tenant_not_found', `There is no tenant "${request.tenant}".`);
  return tenant;
}

/** What the audit event keeps of one ended session or revoked grant: counts; failures go to the log too. */
function endedDetails(request: AdminRequest<unknown, unknown, unknown>, ended: EndedOne) {
  const failed = ended.backchannelLogouts.filter((result) => !result.delivered);
  if (failed.length > 0) (request.ctx.state.log as Logger | undefined)?.warn({ event: 'backchannel.error', tenant: request.tenant, failed }, 'back-channel logout delivery failed');
  return { grants_revoked: ended.grants, backchannel_logouts: { delivered: ended.backchannelLogouts.length - failed.length, failed: failed.length } };
}

const userNotFound = '`not_found`: no such user in this tenant';

export const userAccessRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/users/:id/sessions',
    tag: 'Users',
    summary: 'List a user’s browser sessions (when they began, the last sign-in on them, how, and the clients they signed in to)',
    scopes: ['admin:users:read'],
    params: userParams,
    response: z.object({ items: z.array(sessionOut) }),
    errors: { 404: userNotFound },
    async handler(request) {
      const user = await loadUser(request);
      return { items: (await sessionsOf(await sessionsOfTenant(request), user._id)).map(sessionJson) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/sessions/:session',
    tag: 'Users',
    summary: 'Sign a user out of one session: back-channel logout to its clients, and the grants it held revoked with their tokens',
    scopes: ['admin:users:write'],
    params: sessionParams,
    response: empty,
    status: 204,
    errors: { 404: `${userNotFound}; or the user has no such live session` },
    async handler(request) {
      const user = await loadUserToChange(request, 'sign this user out');
      const ended = await endSessionByHandle(await sessionsOfTenant(request), user._id, request.params.session);
      if (!ended.ended) throw new AppError('not_found', 'This user has no such session (it may have ended already).');
      await request.audit({ type: 'user.session_ended', target: { type: 'user', id: user._id }, details: { session: request.params.session, ...endedDetails(request, ended) } });
      return {};
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/sessions',
    tag: 'Users',
    summary: 'Sign a user out everywhere: every session ended and every grant revoked with its tokens (refresh tokens too)',
    scopes: ['admin:users:write'],
    params: userParams,
    response: empty,
    status: 204,
    errors: { 404: userNotFound },
    async handler(request) {
      const user = await loadUserToChange(request, 'sign this user out');
      await endSessionsAndAudit(request, user._id, 'signed_out_everywhere', { type: 'user.signed_out_everywhere', target: { type: 'user', id: user._id } });
      return {};
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/users/:id/grants',
    tag: 'Users',
    summary: 'List what apps hold for a user (grants: the client, the scopes and API scopes it was allowed)',
    scopes: ['admin:users:read'],
    params: userParams,
    response: z.object({ items: z.array(grantOut) }),
    errors: { 404: userNotFound },
    async handler(request) {
      const user = await loadUser(request);
      return { items: (await grantsOf(await sessionsOfTenant(request), user._id)).map(grantJson) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/grants/:grant',
    tag: 'Users',
    summary: 'Revoke a grant: its access and refresh tokens stop working, and the client gets a back-channel logout for the user’s sessions that hold it',
    scopes: ['admin:users:write'],
    params: grantParams,
    response: empty,
    status: 204,
    errors: { 404: `${userNotFound}; or the user has no such grant` },
    async handler(request) {
      const user = await loadUserToChange(request, 'revoke this user’s grants');
      const revoked = await revokeAccountGrant(await sessionsOfTenant(request), user._id, request.params.grant);
      if (!revoked.ended) throw new AppError('not_found', 'This user has no such grant (it may have been revoked already).');
      await request.audit({ type: 'user.grant_revoked', target: { type: 'user', id: user._id }, details: { grant: request.params.grant, ...endedDetails(request, revoked) } });
      return {};
    },
  }),
];
