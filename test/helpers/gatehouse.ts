import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import type { AppContext } from '../../src/app-context.js';
import { boot, type BootOptions, type Running } from '../../src/boot.js';
import { freePort } from './ports.js';

export const TEST_PASSWORD = 'correct horse battery staple';

export { freePort };

export interface TestGatehouse extends Running {
  origin: string;
  issuer(tenant: string): string;
}

/**
 * Boots a real Gatehouse on loopback with the in-memory store (or what `overrides` say). `logger`
 * lets a test read the log (pino writing to a stream of its own).
 */
export async function startGatehouse(overrides: ConfigInput = {}, { logger, ...options }: BootOptions & { logger?: Logger } = {}): Promise<TestGatehouse> {
  const port = overrides.port ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    env: { NODE_ENV: 'test' },
    overrides: {
      publicUrl: origin,
      host: '127.0.0.1',
      port,
      masterKey: randomBytes(32).toString('base64'),
      store: { kind: 'memory' },
      log: { level: 'silent' },
      http: { shutdownGraceMs: 1000 },
      ...overrides,
    },
  });
  const running = await boot(config, logger ?? pino({ level: process.env['GATEHOUSE_TEST_LOG'] ?? 'silent' }), options);
  return { ...running, origin, issuer: (tenant) => `${origin}/t/${tenant}` };
}

export interface SeededTenant {
  id: string;
  userId: string;
  username: string;
  client: { clientId: string; clientSecret: string; redirectUri: string };
  publicClient: { clientId: string; redirectUri: string };
  api: string;
}

/** Creates a tenant with one user, a confidential client, a public client and an API. */
export async function seedTenant(gh: { app: AppContext }, id: string): Promise<SeededTenant> {
  const { app } = gh;
  await app.tenants.create({ id, displayName: `Tenant ${id}` });
  const user = await app.users.create(id, {
    username: 'alice',
    email: 'alice@example.com',
    emailVerified: true,
    givenName: 'Alice',
    familyName: 'Liddell',
    phone: '+15555550100',
    passwordHash: await app.passwords.hash(TEST_PASSWORD),
  });
  const redirectUri = 'http://127.0.0.1:9/callback';
  const client = await app.clients.create(id, {
    client_id: 'web-app',
    client_name: 'Web App',
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: ['http://127.0.0.1:9/signed-out'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  await app.clients.create(id, {
    client_id: 'spa',
    client_name: 'Single Page App',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  const api = `https://api.${id}.example`;
  await app.resources.create(id, { identifier: api, name: 'Example API', scopes: [{ name: 'read' }, { name: 'write' }] });
  // API scopes reach tokens only through roles (RBAC): alice and web-app may read and write.
  await app.roles.create(id, { name: 'api-user', permissions: [{ api, scope: 'read' }, { api, scope: 'write' }] });
  await app.users.setRoles(id, user._id, ['api-user']);
  await app.clients.setRoles(id, 'web-app', ['api-user']);
  return {
    id,
    userId: user._id,
    username: 'alice',
    client: { clientId: client.clientId, clientSecret: client.clientSecret!, redirectUri },
    publicClient: { clientId: 'spa', redirectUri },
    api,
  };
}
