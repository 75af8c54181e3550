/**
 * Gatehouse under test, in a process of its own so the load generator never shares its event loop.
 * Boots the real server (in-memory store, logging off, production password settings), seeds tenant
 * `bench`, builds the tenant once so key generation is not measured, and announces itself. With
 * `BENCH_REDIS_URL` set it keeps short-lived state and the change feed in that Redis (`redis.url`).
 */
import { startGatehouse } from '../test/helpers/gatehouse.js';
import { announce, BENCH_API, BENCH_CLIENT_ID, BENCH_PASSWORD, BENCH_REDIRECT_URI, BENCH_TOTP_USERS, BENCH_USERNAME, benchTotpSecret, serveRunner } from './shared.js';

const TENANT = 'bench';

// The tests' Gatehouse: in-memory store and logging off, like the baseline (a log line per request
// would measure stdout rather than Gatehouse); password.* stays at its production defaults.
// The runner's only channel to a child it starts; the benchmark is tooling, not the server's config.
const redisUrl = process.env['BENCH_REDIS_URL'];
const running = await startGatehouse(redisUrl ? { redis: { url: redisUrl } } : {});
const { origin } = running;
const { app } = running;

await app.tenants.create({ id: TENANT, displayName: 'Benchmark' });
const passwordHash = await app.passwords.hash(BENCH_PASSWORD);
await app.users.create(TENANT, {
  username: BENCH_USERNAME,
  email: 'alice@bench.example',
  emailVerified: true,
  givenName: 'Alice',
  familyName: 'Liddell',
  passwordHash,
});
// Users with an authenticator app for the password + TOTP logins (one hash shared: seeding 3000
// argon2 hashes would take minutes and the verification costs the same).
for (let index = 0; index < BENCH_TOTP_USERS; index += 1) {
  const user = await app.users.create(TENANT, { username: `totp-${index}`, email: `totp-${index}@bench.example`, emailVerified: true, passwordHash });
  await app.mfa.factors.createTotp(TENANT, user._id, { name: 'Bench', secret: benchTotpSecret(index), lastTimeStep: 0 });
}
const client = await app.clients.create(TENANT, {
  client_id: BENCH_CLIENT_ID,
  client_name: 'Benchmark client',
  redirect_uris: [BENCH_REDIRECT_URI],
  // refresh_token: Gatehouse issues refresh tokens to clients allowed the grant, and rotates them.
  grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});
await app.resources.create(TENANT, { identifier: BENCH_API, name: 'Benchmark API', scopes: [{ name: 'read' }, { name: 'write' }] });
// API scopes reach tokens through roles; the client's role lets it read the API like the baseline's.
await app.roles.create(TENANT, { name: 'bench-reader', permissions: [{ api: BENCH_API, scope: 'read' }, { api: BENCH_API, scope: 'write' }] });
await app.clients.setRoles(TENANT, BENCH_CLIENT_ID, ['bench-reader']);
// Builds the tenant's provider now (and generates its keys), outside the measured time.
await running.gatehouse.pool.get(TENANT);

serveRunner(() => running.stop());
announce({
  name: redisUrl ? 'gatehouse+redis' : 'gatehouse',
  issuer: `${origin}/t/${TENANT}`,
  origin,
  clientId: client.clientId,
  clientSecret: client.clientSecret!,
  redirectUri: BENCH_REDIRECT_URI,
  api: BENCH_API,
  username: BENCH_USERNAME,
  password: BENCH_PASSWORD,
  totpUsers: BENCH_TOTP_USERS,
});
