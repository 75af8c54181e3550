import { z } from 'zod';
import type { AppContext } from '../../app-context.js';
import { MAX_PASSWORD_LENGTH } from '../../authn/password.js';
import { acceptablePassword, type PasswordIdentity } from '../../authn/password-acceptance.js';
import { emailField, personText, phoneField, usernameField } from '../../domain/profile-fields.js';
import { type RemovableUserField, type User, type UserChanges } from '../../domain/users.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { empty, page, paged, pageQuery, tenantParam, timestamps } from './common.js';
import { assertHoldsPowersOf } from '../escalation.js';
import { endSessionsAndAudit } from './user-sessions.js';

/** Path parameters `{tenant}` and `{id}` of one user. */
export const userParams = tenantParam.extend({ id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a user id') });

const text = personText;
const username = usernameField;
const email = emailField;
const phone = phoneField;

/** A new password as an admin sends it; the tenant's rules are checked by {@link assertAcceptablePassword}. */
export const password = z.string().min(1).max(MAX_PASSWORD_LENGTH);

const profile = {
  username,
  email: email.optional(),
  email_verified: z.boolean().optional(),
  phone: phone.optional(),
  phone_verified: z.boolean().optional(),
  given_name: text(100).optional(),
  family_name: text(100).optional(),
  name: text(200).optional(),
};

/** A user as the API shows it: never a hash, only whether there is a password. */
export const userOut = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  email_verified: z.boolean(),
  phone: z.string().nullable(),
  phone_verified: z.boolean(),
  given_name: z.string().nullable(),
  family_name: z.string().nullable(),
  name: z.string().nullable(),
  has_password: z.boolean(),
  password_must_change: z.boolean(),
  roles: z.array(z.string()),
  disabled: z.boolean(),
  ...timestamps,
});

/** Maps a stored user to its JSON (also the audit `before`/`after`, so nothing secret may appear here). */
export function toJson(user: User): z.input<typeof userOut> {
  return {
    id: user._id,
    username: user.username,
    email: user.email ?? null,
    email_verified: user.emailVerified,
    phone: user.phone ?? null,
    phone_verified: user.phoneVerified,
    given_name: user.givenName ?? null,
    family_name: user.familyName ?? null,
    name: user.name ?? null,
    has_password: Boolean(user.passwordHash),
    password_must_change: Boolean(user.passwordHash && user.passwordMustChange),
    roles: user.roles ?? [],
    disabled: user.disabled,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

/** The user of the acted-on tenant, else 404: another tenant's user id is never found here. */
export async function loadUser(request: AdminRequest<{ id: string }, unknown, unknown>): Promise<User> {
  const user = await request.app.users.findById(request.tenant, request.params.id);
  if (!user) throw new AppError('not_found', `There is no user "${request.params.id}" in this tenant.`);
  return user;
}

/** Loads a user about to be changed; refused (403) when their roles outrank the caller's token. */
export async function loadUserToChange(request: AdminRequest<{ id: string }, unknown, unknown>, action: string): Promise<User> {
  const user = await loadUser(request);
  await assertHoldsPowersOf(request as AdminRequest<unknown, unknown, unknown>, user.roles ?? [], action);
  return user;
}

/**
 * Refuses a password the tenant's rules refuse (`acceptablePassword`: length, breached, made of the
 * user's identity), naming the field like a schema error would.
 */
export async function assertAcceptablePassword(app: AppContext, tenant: string, value: string, field: string, identity: PasswordIdentity): Promise<void> {
  const verdict = await acceptablePassword(app.passwordChecks, (await app.tenants.find(tenant))?.securityPolicy, value, identity);
  if (!verdict.ok) throw invalid(field, `${verdict.message} (${verdict.reason})`);
}

function invalid(field: string, message: string): AppError {
  return new AppError('invalid_request', `Invalid body: "${field}": ${message}`);
}

type ProfileInput = { username?: string; email?: string | null; email_verified?: boolean; phone?: string | null; phone_verified?: boolean; given_name?: string | null; family_name?: string | null; name?: string | null };

/**
 * Profile changes from a create or PATCH body. `null` removes an optional field. A new or removed
 * e-mail address or phone number is unverified unless the body says otherwise: a verification
 * belongs to the value that was verified.
 */
function changesOf(input: ProfileInput, current?: User): { changes: UserChanges; unset: RemovableUserField[] } {
  const changes: UserChanges = {};
  const unset: RemovableUserField[] = [];
  const fields = [['email', 'email'], ['phone', 'phone'], ['given_name', 'givenName'], ['family_name', 'familyName'], ['name', 'name']] as const;
  for (const [json, stored] of fields) {
    const value = input[json];
    if (value === null) unset.push(stored);
    else if (value !== undefined) changes[stored] = value;
  }
  if (input.username !== undefined) changes.username = input.username;
  for (const [field, verified, stored] of [['email', 'email_verified', 'emailVerified'], ['phone', 'phone_verified', 'phoneVerified']] as const) {
    const value = input[field] === undefined ? current?.[field] : (input[field] ?? undefined);
    const changed = input[field] !== undefined && input[field]?.toLowerCase() !== current?.[field]?.toLowerCase();
    const flag = input[verified] ?? (changed ? false : undefined);
    if (flag && !value) throw invalid(verified, `cannot be true without ${field === 'email' ? 'an e-mail address' : 'a phone number'}`);
    if (flag !== undefined) changes[stored] = flag;
  }
  return { changes, unset };
}

/** Users of a tenant: profile, sign-in state and (read-only here) roles. */
export const userRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants/:tenant/users',
    tag: 'Users',
    summary: 'Create a user, optionally with a password that must be changed at the next sign-in',
    scopes: ['admin:users:write'],
    params: tenantParam,
    body: z.object({ ...profile, password: password.optional(), password_must_change: z.boolean().optional(), disabled: z.boolean().optional() }).strict(),
    response: userOut,
    status: 201,
    async handler(request) {
      const { password: secret, password_must_change: mustChange, disabled, ...rest } = request.body;
      if (mustChange && secret === undefined) throw invalid('password_must_change', 'needs a "password"');
      if (secret !== undefined) await assertAcceptablePassword(request.app, request.tenant, secret, 'password', { username: rest.username, email: rest.email, name: [rest.name, rest.given_name, rest.family_name].filter(Boolean).join(' ') });
      const { changes } = changesOf(rest);
      const user = await request.app.users.create(request.tenant, {
        ...changes,
        username: rest.username,
        ...(secret !== undefined ? { passwordHash: await request.app.passwords.hash(secret), passwordMustChange: mustChange ?? false } : {}),
        ...(disabled !== undefined ? { disabled } : {}),
      });
      await request.audit({ type: 'user.created', target: { type: 'user', id: user._id }, after: toJson(user) });
      request.ctx.set('Location', `/admin/v1/tenants/${request.tenant}/users/${user._id}`);
      return toJson(user);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/users',
    tag: 'Users',
    summary: 'List users: search by a prefix of username, e-mail or phone (`q`), or filter by exact values',
    scopes: ['admin:users:read'],
    params: tenantParam,
    query: pageQuery.extend({
      q: z.string().trim().min(1).max(100).optional(),
      username: z.string().max(128).optional(),
      email: z.string().max(254).optional(),
      phone: z.string().max(16).optional(),
    }),
    response: page(userOut),
    async handler({ app, tenant, query }) {
      const { limit, cursor, ...filters } = query;
      const users = await app.users.list(tenant, { ...filters, ...(cursor !== undefined ? { after: cursor } : {}), limit: limit + 1 });
      const result = paged(users, limit, (user) => user._id);
      return { items: result.items.map(toJson), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/users/:id',
    tag: 'Users',
    summary: 'Read a user',
    scopes: ['admin:users:read'],
    params: userParams,
    response: userOut,
    async handler(request) {
      return toJson(await loadUser(request));
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant/users/:id',
    tag: 'Users',
    summary: 'Update a user’s profile; `null` removes an optional field',
    scopes: ['admin:users:write'],
    params: userParams,
    body: z
      .object({
        ...profile,
        username: username.optional(),
        email: email.nullable().optional(),
        phone: phone.nullable().optional(),
        given_name: profile.given_name.unwrap().nullable().optional(),
        family_name: profile.family_name.unwrap().nullable().optional(),
        name: profile.name.unwrap().nullable().optional(),
      })
      .strict(),
    response: userOut,
    async handler(request) {
      const before = await loadUserToChange(request, 'change this user');
      const { changes, unset } = changesOf(request.body, before);
      const updated = await request.app.users.update(request.tenant, before._id, changes, unset);
      if (!updated) throw new AppError('not_found', `There is no user "${before._id}" in this tenant.`);
      await request.audit({ type: 'user.updated', target: { type: 'user', id: updated._id }, before: toJson(before), after: toJson(updated) });
      return toJson(updated);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id',
    tag: 'Users',
    summary: 'Delete a user; their sessions end and their tokens are revoked',
    scopes: ['admin:users:write'],
    params: userParams,
    response: empty,
    status: 204,
    async handler(request) {
      const before = await loadUserToChange(request, 'delete this user');
      if (!(await request.app.users.delete(request.tenant, before._id))) throw new AppError('not_found', `There is no user "${before._id}" in this tenant.`);
      await endSessionsAndAudit(request, before._id, 'user_deleted', { type: 'user.deleted', target: { type: 'user', id: before._id }, before: toJson(before) });
      return {};
    },
  }),
];
