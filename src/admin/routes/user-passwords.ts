import { z } from 'zod';
import { identityOf } from '../../authn/password-acceptance.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { endSessionsAndAudit } from './user-sessions.js';
import { assertAcceptablePassword, loadUserToChange, password, toJson, userOut, userParams } from './users.js';

/**
 * Turns sign-in on or off. Disabling ends the user's sessions and revokes their grants and tokens
 * (`findAccount` also refuses a disabled user, so nothing issued meanwhile works either).
 */
function setDisabled(disabled: boolean) {
  return defineRoute({
    method: 'post',
    path: `/tenants/:tenant/users/:id/${disabled ? 'disable' : 'enable'}`,
    tag: 'Users',
    summary: disabled ? 'Disable a user: no sign-in; their sessions end and their tokens are revoked' : 'Enable a disabled user again',
    scopes: ['admin:users:write'],
    params: userParams,
    response: userOut,
    async handler(request) {
      const before = await loadUserToChange(request, disabled ? 'disable this user' : 'enable this user');
      const updated = await request.app.users.setDisabled(request.tenant, before._id, disabled);
      if (!updated) throw gone(request);
      const event = { type: disabled ? 'user.disabled' : 'user.enabled', target: { type: 'user', id: before._id }, before: toJson(before), after: toJson(updated) };
      if (disabled) await endSessionsAndAudit(request, before._id, 'user_disabled', event);
      else await request.audit(event);
      return toJson(updated);
    },
  });
}

function gone(request: AdminRequest<{ id: string }, unknown, unknown>): AppError {
  return new AppError('not_found', `There is no user "${request.params.id}" in this tenant.`);
}

/** Sign-in state of a user: enabled or not, and the password an admin sets or removes. */
export const userPasswordRoutes = [
  setDisabled(true),
  setDisabled(false),
  defineRoute({
    method: 'put',
    path: '/tenants/:tenant/users/:id/password',
    tag: 'Users',
    summary: 'Set or reset a user’s password; with `must_change` the next sign-in must choose a new one',
    scopes: ['admin:users:write'],
    params: userParams,
    body: z.object({ password, must_change: z.boolean().optional() }).strict(),
    response: userOut,
    async handler(request) {
      const before = await loadUserToChange(request, 'set this user’s password');
      await assertAcceptablePassword(request.app, request.tenant, request.body.password, 'password', identityOf(before));
      const hash = await request.app.passwords.hash(request.body.password);
      const updated = await request.app.users.setPassword(request.tenant, before._id, hash, request.body.must_change ?? false);
      if (!updated) throw gone(request);
      // toJson shows only has_password / password_must_change, never the hash.
      await request.audit({ type: 'user.password_set', target: { type: 'user', id: before._id }, before: toJson(before), after: toJson(updated) });
      return toJson(updated);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/password',
    tag: 'Users',
    summary: 'Remove a user’s password: they can no longer sign in with one',
    scopes: ['admin:users:write'],
    params: userParams,
    response: z.object({}),
    status: 204,
    async handler(request) {
      const before = await loadUserToChange(request, 'remove this user’s password');
      const updated = await request.app.users.setPassword(request.tenant, before._id, null, false);
      if (!updated) throw gone(request);
      await request.audit({ type: 'user.password_removed', target: { type: 'user', id: before._id }, before: toJson(before), after: toJson(updated) });
      return {};
    },
  }),
];
