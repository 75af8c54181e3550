/**
 * The baseline: a bare oidc-provider with its built-in in-memory adapter, the benchmark client
 * configured statically, the same API as a JWT resource server, introspection, Gatehouse's
 * refresh-token policy, and the smallest login and consent pages that do the same essential work as
 * Gatehouse's (a CSRF check, one argon2id verification with the same parameters, a Grant). Runs
 * in a process of its own, like Gatehouse under test.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import argon2 from 'argon2';
import { exportJWK, generateKeyPair } from 'jose';
import Koa from 'koa';
import Provider, { errors, type Configuration } from 'oidc-provider';
import { bareRedisAdapter } from './bare-redis-adapter.js';
import { announce, BENCH_API, BENCH_CLIENT_ID, BENCH_PASSWORD, BENCH_REDIRECT_URI, BENCH_USERNAME, OWASP_ARGON2, serveRunner } from './shared.js';

const user = {
  id: randomUUID(),
  username: BENCH_USERNAME,
  passwordHash: await argon2.hash(BENCH_PASSWORD, OWASP_ARGON2),
  claims: { email: 'alice@bench.example', email_verified: true, given_name: 'Alice', family_name: 'Liddell', name: 'Alice Liddell', preferred_username: BENCH_USERNAME },
};
const clientSecret = randomBytes(32).toString('base64url');
const cookieKey = randomBytes(32).toString('base64url');

/** Private JWK with a kid; RS256 and ES256 like every Gatehouse tenant, so the JWKS documents match. */
async function signingKey(alg: 'RS256' | 'ES256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}
const jwks = { keys: [await signingKey('RS256'), await signingKey('ES256')] };

// The provider needs the issuer, which needs the port: listen first, build the provider after.
let handlers: { provider: ReturnType<Provider['callback']>; interactions: ReturnType<Koa['callback']> } | undefined;
const server = createServer((req, res) => {
  if (!handlers) {
    res.statusCode = 503;
    res.end();
  } else if (req.url?.startsWith('/interaction/')) {
    void handlers.interactions(req, res);
  } else {
    void handlers.provider(req, res);
  }
});
server.keepAliveTimeout = 5_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// With BENCH_REDIS_URL, every model lives in Redis (the like-for-like baseline of Redis mode);
// without it, no `adapter`: the provider's own in-memory (LRU) adapter is the baseline's storage.
const redisUrl = process.env['BENCH_REDIS_URL'];
const redis = redisUrl ? bareRedisAdapter(redisUrl) : undefined;
const configuration: Configuration = {
  ...(redis ? { adapter: redis.adapter } : {}),
  clients: [
    {
      client_id: BENCH_CLIENT_ID,
      client_secret: clientSecret,
      client_name: 'Benchmark client',
      redirect_uris: [BENCH_REDIRECT_URI],
      grant_types: ['authorization_code', 'client_credentials', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: jwks as Configuration['jwks'],
  cookies: { keys: [cookieKey] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, sub) {
    if (sub !== user.id) return undefined;
    return { accountId: user.id, claims: () => ({ sub: user.id, ...user.claims }) };
  },
  // Gatehouse's refresh-token policy (src/oidc/provider.ts), not the provider's defaults (only with
  // offline_access; rotation only near expiry or for public clients), so both sides do the same work.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // The provider's default policy: a confidential client may introspect any token of this issuer.
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== BENCH_API) throw new errors.InvalidTarget();
        return { scope: 'read write', audience: BENCH_API, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
};
const op = new Provider(origin, configuration);

const csrfFor = (uid: string) => createHmac('sha256', cookieKey).update(`csrf\0${uid}`).digest('base64url');

function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 64 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function page(title: string, action: string, uid: string, fields = ''): string {
  return `<!doctype html><title>${title}</title><h1>${title}</h1><form method="post" action="${action}"><input type="hidden" name="csrf" value="${csrfFor(uid)}">${fields}<button type="submit">Continue</button></form>`;
}

const interactions = new Koa();
interactions.use(async (ctx) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login|consent))?$/.exec(ctx.path);
  if (!match) {
    ctx.status = 404;
    return;
  }
  const details = await op.interactionDetails(ctx.req, ctx.res);
  const uid = match[1]!;
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  const prompt = details.prompt.name;
  ctx.set('Cache-Control', 'no-store');

  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body =
      prompt === 'login'
        ? page('Sign in', `/interaction/${uid}/login`, uid, '<input name="username"><input type="password" name="password">')
        : page('Allow access', `/interaction/${uid}/consent`, uid);
    return;
  }

  if (ctx.method !== 'POST' || match[2] !== prompt) ctx.throw(400, 'not the step this interaction needs');
  if (ctx.get('origin') && ctx.get('origin') !== origin) ctx.throw(403, 'foreign origin');
  const form = await readForm(ctx.req);
  if (!sameToken(form.get('csrf') ?? '', csrfFor(uid))) ctx.throw(403, 'bad csrf token');

  let result: Parameters<Provider['interactionResult']>[2];
  if (prompt === 'login') {
    const ok = form.get('username') === user.username && (await argon2.verify(user.passwordHash, form.get('password') ?? ''));
    if (!ok) ctx.throw(401, 'wrong credentials');
    result = { login: { accountId: user.id, amr: ['pwd'] } };
  } else {
    const accountId = details.session?.accountId;
    if (!accountId) ctx.throw(400, 'no session');
    const grant = details.grantId ? await op.Grant.find(details.grantId) : undefined;
    const record = grant ?? new op.Grant({ accountId, clientId: String(details.params['client_id']) });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) record.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) record.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) record.addResourceScope(indicator, scopes.join(' '));
    const grantId = await record.save();
    result = { consent: grant ? {} : { grantId } };
  }
  const returnTo = await op.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: prompt !== 'login' });
  ctx.status = 303;
  ctx.redirect(returnTo);
});
handlers = { provider: op.callback(), interactions: interactions.callback() };

serveRunner(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await redis?.close();
});
announce({
  name: redis ? 'bare oidc-provider+redis' : 'bare oidc-provider',
  issuer: origin,
  origin,
  clientId: BENCH_CLIENT_ID,
  clientSecret,
  redirectUri: BENCH_REDIRECT_URI,
  api: BENCH_API,
  username: BENCH_USERNAME,
  password: BENCH_PASSWORD,
});
