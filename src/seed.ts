import type { AppContext } from './app-context.js';
import { SYSTEM_TENANT } from './domain/tenants.js';

export const DEMO_TENANT = 'demo';

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
