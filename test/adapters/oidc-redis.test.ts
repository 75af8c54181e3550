/**
 * The oidc adapter contract with the short-lived models on Redis (a real redis-server) and the
 * durable ones on the embedded store: the production shape of several instances.
 * The contract crosses expiry with its own clock: the adapter checks expiry itself, so entries
 * Redis still keeps are already dead to it.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openEphemeral } from '../../adapters/index.js';
import { openNedbStore } from '../../adapters/nedb.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { describeOidcAdapterContract } from './oidc-adapter-contract.js';

if (redisServerAvailable()) {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  const settings = (url: string) => ({ url, tls: { rejectUnauthorized: true }, keyPrefix: 'gatehouse:', commandTimeoutMs: 1000, connectTimeoutMs: 1000, requireNoEviction: true });
  describeOidcAdapterContract('short-lived models on Redis, durable ones on nedb in memory', () => openNedbStore({}), {
    ephemeral: () => {
      if (!server) throw new Error('redis-server did not start');
      return openEphemeral(settings(server.url));
    },
  });
} else {
  console.log('oidc adapter contract on Redis skipped: redis-server is missing');
  describe.skip('oidc adapter contract on Redis (needs redis-server)', () => {
    it('runs the oidc adapter contract with the short-lived models on Redis', () => undefined);
  });
}
