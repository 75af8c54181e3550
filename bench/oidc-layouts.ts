/**
 * What the home of the short-lived oidc-provider models costs on the embedded store, in process and
 * without HTTP (so a busy machine blurs it less than `npm run bench`): the adapter calls of one
 * login and of one client-credentials token, with every model in the `oidc` collection against the
 * short-lived ones through the store-backed port (`adapters/oidc/routing.ts`, `shortLivedHomeOf`).
 * Rounds alternate the order; prints the median CPU ms per operation.
 *
 *   npx tsx bench/oidc-layouts.ts [--rounds 6]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Adapter } from 'oidc-provider';
import { StoreEphemeral } from '../adapters/ephemeral-store.js';
import { indexes } from '../adapters/indexes.js';
import { openNedbStore } from '../adapters/nedb.js';
import { createOidcAdapterFactory } from '../adapters/oidc/routing.js';

type Factory = (model: string) => Adapter;

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' } } });
const rounds = Math.max(2, Math.min(20, Number(values.rounds) || 6));

/** The adapter calls oidc-provider makes for one password login with consent, in order (from a trace). */
async function login(model: Factory): Promise<void> {
  const [interactions, sessions, codes, accessTokens, grants, refreshTokens] = ['Interaction', 'Session', 'AuthorizationCode', 'AccessToken', 'Grant', 'RefreshToken'].map(model) as [
    Adapter,
    Adapter,
    Adapter,
    Adapter,
    Adapter,
    Adapter,
  ];
  const [account, session, uid, interaction, grant, code, accessToken, refreshToken] = Array.from({ length: 8 }, () => randomUUID());
  const details = { params: { client_id: 'app', scope: 'openid profile', state: 'x'.repeat(40) }, prompt: { name: 'login', reasons: ['no_session'], details: {} } };
  await sessions.find(session!);
  await interactions.upsert(interaction!, { jti: interaction!, uid: interaction!, ...details }, 3600);
  await interactions.find(interaction!);
  await interactions.upsert(interaction!, { jti: interaction!, uid: interaction!, ...details, result: { login: { accountId: account! } } }, 3600);
  await interactions.find(interaction!);
  await sessions.upsert(session!, { jti: session!, uid: uid!, accountId: account!, loginTs: 1 }, 1_209_600);
  await grants.find(grant!);
  await grants.upsert(grant!, { jti: grant!, accountId: account!, clientId: 'app' }, 1_209_600);
  await interactions.find(interaction!);
  await interactions.destroy(interaction!);
  await sessions.upsert(session!, { jti: session!, uid: uid!, accountId: account!, loginTs: 1, authorizations: { app: { sid: 'sid', grantId: grant! } } }, 1_209_600);
  await codes.upsert(code!, { jti: code!, grantId: grant!, accountId: account!, sessionUid: uid! }, 60);
  await codes.find(code!);
  await grants.find(grant!);
  await codes.consume(code!);
  await accessTokens.upsert(accessToken!, { jti: accessToken!, grantId: grant!, accountId: account!, sessionUid: uid! }, 3600);
  await refreshTokens.upsert(refreshToken!, { jti: refreshToken!, grantId: grant!, accountId: account!, sessionUid: uid! }, 1_209_600);
}

async function clientCredentials(model: Factory): Promise<void> {
  const id = randomUUID();
  await model('ClientCredentials').upsert(id, { jti: id, clientId: 'app', scope: 'api:read' }, 600);
}

const store = await openNedbStore({});
await store.ensureIndexes('oidc', indexes.oidc ?? []);
await store.ensureIndexes('ephemeral', indexes.ephemeral ?? []);
const findClient = async () => undefined;
const layouts = {
  'all in the store': createOidcAdapterFactory({ store, tenant: 'bench', findClient }),
  'short-lived through the port': createOidcAdapterFactory({ store, ephemeral: new StoreEphemeral(store), tenant: 'bench', findClient }),
};
type Layout = keyof typeof layouts;
const names = Object.keys(layouts) as Layout[];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

for (const [label, operation, count] of [
  ['login', login, 300],
  ['client-credentials token', clientCredentials, 2000],
] as const) {
  const spent: Record<Layout, number[]> = { 'all in the store': [], 'short-lived through the port': [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const layout of round % 2 === 0 ? names : [...names].reverse()) {
      const before = process.cpuUsage();
      for (let i = 0; i < count; i += 1) await operation(layouts[layout]);
      const used = process.cpuUsage(before);
      spent[layout].push((used.user + used.system) / 1000 / count);
    }
  }
  for (const layout of names) console.log(`${label.padEnd(25)} ${layout.padEnd(30)} ${median(spent[layout]).toFixed(3)} ms CPU`);
}
await store.close();
