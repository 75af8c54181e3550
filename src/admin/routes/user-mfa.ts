import { z } from 'zod';
import { removeFactors } from '../../authn/mfa-policy.js';
import { chargeMfa } from '../../authn/mfa-throttle.js';
import { mfaAuditEvents } from '../../domain/audit.js';
import type { FactorSummary } from '../../domain/mfa-factors.js';
import { mfaFactorTypes } from '../../domain/tenants.js';
import type { User } from '../../domain/users.js';
import { AppError } from '../../errors.js';
import { assertHoldsPowersOf } from '../escalation.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty } from './common.js';
import { userParams } from './users.js';

/**
 * A user's second factors (issues 9 and 10), for operators and for applications that run their own
 * enrolment UI with a bearer token: list and remove factors (passkeys included: they are registered
 * by their user in a browser, never here), enrol an authenticator app (start,
 * then confirm with a code), generate recovery codes. Secrets and codes appear once, in the
 * response that creates them, never in a list or an audit event. Factors are read from the store
 * on every sign-in (no cache), so nothing needs announcing to other instances.
 */

const factorParams = userParams.extend({ factorId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a factor id') });
const enrollmentParams = userParams.extend({ enrollment_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an enrollment id') });

const factorOut = z.object({
  id: z.string(),
  type: z.enum(mfaFactorTypes),
  name: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  /** recovery codes only: how many are left */
  remaining: z.number().int().optional(),
  /** passkeys only: how the browser reaches it (`internal`, `usb`, `hybrid`, ...) */
  transports: z.array(z.string()).optional(),
  /** passkeys only: whether it is synced (backed up) beyond one device */
  backed_up: z.boolean().optional(),
});

function toJson(factor: FactorSummary): z.input<typeof factorOut> {
  return {
    id: factor.id,
    type: factor.type,
    name: factor.name,
    created_at: factor.createdAt.toISOString(),
    last_used_at: factor.lastUsedAt?.toISOString() ?? null,
    ...(factor.remaining !== undefined ? { remaining: factor.remaining } : {}),
    ...(factor.transports !== undefined ? { transports: factor.transports } : {}),
    ...(factor.backedUp !== undefined ? { backed_up: factor.backedUp } : {}),
  };
}

const userNotFound = '`user_not_found`: no such user in this tenant';

/** The user named by the path (`user_not_found` otherwise); with `action`, one the caller may change (roles not above the token's). */
async function loadUser(request: AdminRequest<{ id: string }, unknown, unknown>, action?: string): Promise<User> {
  const user = await request.app.users.findById(request.tenant, request.params.id);
  if (!user) throw new AppError('user_not_found', `There is no user "${request.params.id}" in this tenant.`);
  if (action) await assertHoldsPowersOf(request as AdminRequest<unknown, unknown, unknown>, user.roles ?? [], action);
  return user;
}

/** Removes under the tenant's policy, one removal per user at a time (`removeFactors`). */
async function removeUnderPolicy(request: AdminRequest<{ id: string }, unknown, unknown>, user: User, factorId?: string): Promise<FactorSummary[]> {
  const tenant = await request.app.tenants.find(request.tenant);
  return removeFactors({ factors: request.app.mfa.factors, ephemeral: request.app.ephemeral }, tenant?.securityPolicy, request.tenant, user._id, factorId);
}

export const userMfaRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/users/:id/mfa/factors',
    tag: 'Users',
    summary: 'List a user’s second factors (type, name, created, last used; passkeys: transports and whether synced; never secrets or keys)',
    scopes: ['admin:users:read'],
    params: userParams,
    response: z.object({ items: z.array(factorOut) }),
    errors: { 404: userNotFound },
    async handler(request) {
      const user = await loadUser(request);
      return { items: (await request.app.mfa.factors.list(request.tenant, user._id)).map(toJson) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/mfa/factors/:factorId',
    tag: 'Users',
    summary: 'Remove one second factor of a user',
    scopes: ['admin:users:write'],
    params: factorParams,
    response: empty,
    status: 204,
    errors: { 404: `${userNotFound}; \`not_found\`: the user has no such factor`, 409: '`mfa_last_factor`: the tenant requires MFA and this is the user’s last authenticator app; `conflict`: another removal of this user’s factors is in progress (try again)' },
    async handler(request) {
      const user = await loadUser(request, 'remove this user’s factors');
      const [factor] = await removeUnderPolicy(request, user, request.params.factorId);
      if (!factor) throw new AppError('not_found', `User "${user._id}" has no factor "${request.params.factorId}".`);
      await request.audit({ type: mfaAuditEvents.factorRemoved, target: { type: 'user', id: user._id }, before: toJson(factor) });
      return {};
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/mfa/factors',
    tag: 'Users',
    summary: 'Remove every second factor of a user (a reset: the next sign-in asks them to enrol again if the tenant requires it)',
    scopes: ['admin:users:write'],
    params: userParams,
    response: empty,
    status: 204,
    errors: { 404: userNotFound, 409: '`mfa_last_factor`: the tenant requires MFA and the user has an authenticator app; `conflict`: another removal of this user’s factors is in progress (try again)' },
    async handler(request) {
      const user = await loadUser(request, 'reset this user’s factors');
      const factors = await removeUnderPolicy(request, user);
      await request.audit({ type: mfaAuditEvents.factorsReset, target: { type: 'user', id: user._id }, before: factors.map(toJson), details: { removed: factors.length } });
      return {};
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/users/:id/mfa/totp',
    tag: 'Users',
    summary: 'Start enrolling an authenticator app: a new secret as an otpauth URI and a QR code, pending for 10 minutes until confirmed with a code',
    scopes: ['admin:users:write'],
    params: userParams,
    body: z.object({ name: z.string().max(64).optional() }).strict(),
    response: z.object({ enrollment_id: z.string(), totp_uri: z.string(), qr_code: z.string() }),
    errors: { 400: 'Invalid input (`invalid_request`): the description names the field', 404: userNotFound, 409: '`conflict`: the user has the most authenticator apps allowed (10)' },
    async handler(request) {
      const user = await loadUser(request, 'enrol a factor for this user');
      const started = await request.app.mfa.totp.startEnrollment(request.tenant, user._id, request.body.name);
      return { enrollment_id: started.enrollmentId, totp_uri: started.uri, qr_code: started.qrCode };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/users/:id/mfa/totp/:enrollment_id/verify',
    tag: 'Users',
    summary: 'Confirm an authenticator app with a current code from it: the factor exists from now on',
    description: 'Wrong codes count against the user’s second-factor budget, shared with sign-in from unknown browsers: after 5, answers wait for a growing delay (429 with Retry-After).',
    scopes: ['admin:users:write'],
    params: enrollmentParams,
    body: z.object({ code: z.string().min(1).max(32) }).strict(),
    response: z.object({ verified: z.literal(true) }),
    errors: {
      400: '`invalid_totp_code`: not the current code of this authenticator (a wrong answer, not a failed token); `invalid_request`: the description names the field',
      404: `${userNotFound}; \`enrollment_not_found\`: no pending enrolment of this id for this user (expired after 10 minutes, or already confirmed)`,
      429: '`mfa_rate_limited`: too many wrong codes for this user; wait for the seconds in Retry-After',
    },
    async handler(request) {
      const { app, tenant } = request;
      const user = await loadUser(request, 'enrol a factor for this user');
      const charge = await chargeMfa(app.throttle, { tenant, accountId: user._id });
      if (!charge.ok) {
        app.metrics.rateLimited(`mfa_${charge.budget}`);
        request.ctx.set('Retry-After', String(charge.retryAfter));
        throw new AppError('mfa_rate_limited', `Too many wrong codes for this user; try again in ${charge.retryAfter} seconds.`);
      }
      let factor: FactorSummary;
      try {
        factor = await app.mfa.totp.confirmEnrollment(tenant, user._id, request.params.enrollment_id, request.body.code);
      } catch (error) {
        const wrong = error instanceof AppError && (error.code === 'invalid_totp_code' || error.code === 'enrollment_not_found');
        await charge.settle(wrong ? 'failed' : 'released');
        throw error;
      }
      await charge.settle('succeeded');
      await request.audit({ type: mfaAuditEvents.factorEnrolled, target: { type: 'user', id: user._id }, after: toJson(factor) });
      return { verified: true as const };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/users/:id/mfa/recovery-codes',
    tag: 'Users',
    summary: 'Generate 10 single-use recovery codes, shown only in this response; the user’s previous codes stop working',
    scopes: ['admin:users:write'],
    params: userParams,
    response: z.object({ codes: z.array(z.string()) }),
    errors: { 404: userNotFound },
    async handler(request) {
      const user = await loadUser(request, 'generate recovery codes for this user');
      const codes = await request.app.mfa.recoveryCodes.generate(request.tenant, user._id);
      await request.audit({ type: mfaAuditEvents.recoveryCodesGenerated, target: { type: 'user', id: user._id }, after: { remaining: codes.length } });
      return { codes };
    },
  }),
];
