import type { AppContext } from './app-context.js';
import { SYSTEM_TENANT } from './domain/tenants.js';

export const DEMO_TENANT = 'demo';

/**
 * Gives users stored before identifier keys existed their keys (UserRepository.backfillIdentifierKeys)
 * and logs the users that could not get one, because an older user holds it, for an operator to resolve.
 */
export async function backfillIdentifierKeys(app: AppContext): Promise<number> {
  const { updated, conflicts } = await app.users.backfillIdentifierKeys();
  if (updated > 0) app.logger.info({ users: updated }, 'gave users stored before identifier keys existed their keys');
  for (const conflict of conflicts) {
    app.logger.warn(
      { ...conflict, event: 'user.identifier_conflict' },
      `user ${conflict.userId} cannot sign in by its ${conflict.field}: user ${conflict.heldBy} has the same or a look-alike identifier; rename one of them (then PATCH the other with its ${conflict.field} unchanged)`,
    );
  }
  return conflicts.length;
}

/** Creates the `system` tenant (operators) if missing; every installation has one. */
export async function ensureSystemTenant(app: AppContext): Promise<void> {
  await app.tenants.ensure({ id: SYSTEM_TENANT, displayName: 'Gatehouse' });
}

/**
 * Development login: once, a `demo` tenant with a demo user, so `npm start` is usable at once.
 * Never in production (the configuration loader refuses `demo.seed` there). Returns what it
 * created, for the start-up banner, or `null` when the demo tenant already existed.
 */
export async function seedDemo(app: AppContext): Promise<{ username: string; password: string } | null> {
  const { created } = await app.tenants.ensure({ id: DEMO_TENANT, displayName: 'Demo' });
  if (!created) return null;
  const { username, password } = app.config.demo;
  await app.users.create(DEMO_TENANT, {
    username,
    email: `${username}@example.com`,
    emailVerified: true,
    givenName: 'Demo',
    familyName: 'User',
    passwordHash: await app.passwords.hash(password),
  });
  return { username, password };
}
