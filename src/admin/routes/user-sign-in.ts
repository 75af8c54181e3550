import { signInKeys } from '../../authn/sign-in-throttle.js';
import { identifierKeysOf } from '../../domain/identifiers.js';
import { defineRoute } from '../route.js';
import { empty } from './common.js';
import { loadUserToChange, userParams } from './users.js';

/**
 * Support tools for the sign-in throttle (authn/sign-in-throttle.ts): clearing a user's failure
 * counters after a guessing attack, and revoking the device cookies that give their browsers a
 * budget of their own (a lost laptop, a shared computer).
 */
export const userSignInRoutes = [
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/sign-in-throttle',
    tag: 'Users',
    summary: 'Clear a user’s failed sign-in counters: unknown browsers and known devices may try again at once',
    scopes: ['admin:users:write'],
    params: userParams,
    response: empty,
    status: 204,
    async handler(request) {
      const user = await loadUserToChange(request, 'clear this user’s sign-in counters');
      const { throttle } = request.app;
      const identifiers = identifierKeysOf(user.username, user.email).map((key) => signInKeys.identifier(request.tenant, key));
      const cleared = (await throttle.clear(identifiers)) + (await throttle.clearPrefix(signInKeys.devicesOf(request.tenant, user._id)));
      await request.audit({ type: 'user.sign_in_throttle_cleared', target: { type: 'user', id: user._id }, after: { cleared_counters: cleared } });
      return {};
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/users/:id/sign-in-devices',
    tag: 'Users',
    summary: 'Revoke every device cookie of a user: browsers that signed in before count as unknown browsers again',
    scopes: ['admin:users:write'],
    params: userParams,
    response: empty,
    status: 204,
    async handler(request) {
      const user = await loadUserToChange(request, 'revoke this user’s sign-in devices');
      await request.app.devices.revokeAll(request.tenant, user._id, request.app.clock());
      await request.app.throttle.clearPrefix(signInKeys.devicesOf(request.tenant, user._id));
      await request.audit({ type: 'user.sign_in_devices_revoked', target: { type: 'user', id: user._id } });
      return {};
    },
  }),
];
