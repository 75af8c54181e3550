/**
 * The measured workloads, written once and run unchanged against Gatehouse and the baseline. Each
 * iteration checks its own result, so only complete successes are counted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CookieJar, findForm, type HttpClient, type Reply } from './http.js';
import { totpCode } from '../test/helpers/totp.js';
import { benchTotpSecret, type ServerInfo } from './shared.js';

/** A server under test with the endpoints its discovery document names. */
export interface Target {
  info: ServerInfo;
  discoveryUrl: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  introspectionEndpoint: string;
  /** `Authorization` header for the confidential client */
  basicAuth: string;
}

/** One iteration, with the HTTP client of the measurement. */
export type Iteration = (http: HttpClient) => Promise<void>;

export interface Scenario {
  key: 'clientCredentials' | 'clientCredentialsOpaque' | 'discovery' | 'jwks' | 'login' | 'loginTotp' | 'introspection' | 'refresh';
  label: string;
  /**
   * Measured on the Gatehouse sides only (the baseline has no such feature), and compared with the
   * baseline's rate in the named workload of the same round.
   */
  gatehouseOnly?: { comparedWith: Scenario['key'] };
  /** concurrent workers (requests or login loops) */
  concurrency: number;
  /**
   * Outside any measurement, once per server: obtains what `workers` concurrent iterations need
   * (tokens) with the `setup` client and returns the iteration to measure against `target`.
   */
  prepare(target: Target, setup: HttpClient, workers: number): Promise<Iteration>;
}

/** Reads the discovery document once, outside any measurement. */
export async function prepareTarget(info: ServerInfo, http: HttpClient): Promise<Target> {
  const discoveryUrl = `${info.issuer}/.well-known/openid-configuration`;
  const reply = await http.request(discoveryUrl);
  if (reply.status !== 200) throw new Error(`${info.name}: discovery answered ${reply.status}`);
  const doc = JSON.parse(reply.body) as Record<string, string>;
  // RFC 6749 2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
  const credentials = `${encodeURIComponent(info.clientId)}:${encodeURIComponent(info.clientSecret)}`;
  return {
    info,
    discoveryUrl,
    authorizationEndpoint: required(doc, 'authorization_endpoint'),
    tokenEndpoint: required(doc, 'token_endpoint'),
    jwksUri: required(doc, 'jwks_uri'),
    introspectionEndpoint: required(doc, 'introspection_endpoint'),
    basicAuth: `Basic ${Buffer.from(credentials).toString('base64')}`,
  };
}

function required(doc: Record<string, string>, key: string): string {
  const value = doc[key];
  if (typeof value !== 'string') throw new Error(`discovery has no ${key}`);
  return value;
}

function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
}

/**
 * A client-credentials access token, Basic client authentication: a JWT for the API (RFC 8707
 * resource indicator), or without a resource an opaque one, which the server stores (in Redis for
 * the Redis side). Returns the token.
 */
async function clientCredentials(target: Target, http: HttpClient, format: 'jwt' | 'opaque'): Promise<string> {
  const form: Record<string, string> = format === 'jwt' ? { grant_type: 'client_credentials', resource: target.info.api, scope: 'read' } : { grant_type: 'client_credentials' };
  const reply = await http.request(target.tokenEndpoint, { headers: { authorization: target.basicAuth }, form });
  expectStatus(reply, 200, `client_credentials (${format})`);
  const token = (JSON.parse(reply.body) as { access_token?: string }).access_token;
  if (!token || token.includes('.') !== (format === 'jwt')) throw new Error(`client_credentials: no ${format} access token`);
  return token;
}

/** RFC 7662 introspection of one of a few opaque tokens obtained at setup, by the confidential client. */
async function prepareIntrospection(target: Target, setup: HttpClient): Promise<Iteration> {
  const tokens = await Promise.all(Array.from({ length: 8 }, () => clientCredentials(target, setup, 'opaque')));
  let next = 0;
  return async (http) => {
    const token = tokens[next++ % tokens.length]!;
    const reply = await http.request(target.introspectionEndpoint, { headers: { authorization: target.basicAuth }, form: { token } });
    expectStatus(reply, 200, 'introspection');
    if ((JSON.parse(reply.body) as { active?: unknown }).active !== true) throw new Error(`introspection: not active: ${reply.body.slice(0, 200)}`);
  };
}

/**
 * Refresh-token grants. Both servers rotate refresh tokens on every use (Gatehouse's policy, given
 * to the baseline too), so each worker needs its own chain: at setup one login per worker
 * (`offline_access`) fills a pool, and an iteration takes a token, redeems it and puts the new one
 * back. A failed redemption drops its token: sending a spent token again would be a replay, which
 * revokes the grant.
 */
async function prepareRefresh(target: Target, setup: HttpClient, workers: number): Promise<Iteration> {
  const pool: string[] = [];
  for (let i = 0; i < workers; i += 1) {
    const refreshToken = (await login(target, setup, 'openid profile email offline_access')).refresh_token;
    if (!refreshToken) throw new Error(`${target.info.name}: a login with offline_access gave no refresh token`);
    pool.push(refreshToken);
  }
  return async (http) => {
    const token = pool.shift();
    if (!token) throw new Error('refresh: every refresh token of the pool was lost to failures');
    const reply = await http.request(target.tokenEndpoint, { headers: { authorization: target.basicAuth }, form: { grant_type: 'refresh_token', refresh_token: token } });
    expectStatus(reply, 200, 'refresh');
    const tokens = JSON.parse(reply.body) as { access_token?: string; refresh_token?: string };
    if (!tokens.access_token || !tokens.refresh_token || tokens.refresh_token === token) throw new Error('refresh: no access token or no rotated refresh token');
    pool.push(tokens.refresh_token);
  };
}

/** A GET of a static document: only its status is read (`raw-get.ts`), the body was checked in `prepareTarget`. */
async function getOk(http: HttpClient, url: string, what: string): Promise<void> {
  const status = await http.raw.get(url);
  if (status !== 200) throw new Error(`${what}: expected 200, got ${status}`);
}

type Outcome = { page: Reply & { url: URL } } | { redirect: URL };

/** One browser navigation: request, then follow redirects until a page or the client's redirect URI. */
async function navigate(http: HttpClient, jar: CookieJar, url: URL, stopAt: string, init: { form?: Record<string, string>; origin?: string } = {}): Promise<Outcome> {
  let current = url;
  let form = init.form;
  for (let hops = 0; hops < 10; hops += 1) {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = jar.header(current);
    if (cookie) headers['cookie'] = cookie;
    if (form && init.origin) headers['origin'] = init.origin;
    const reply = await http.request(current, form ? { headers, form } : { headers });
    jar.store(current, reply.headers);
    const location = reply.headers.location;
    if (reply.status < 300 || reply.status >= 400 || !location) return { page: { ...reply, url: current } };
    const next = new URL(location, current);
    if (next.href.startsWith(stopAt)) return { redirect: next };
    current = next;
    form = undefined; // 303 (and 302 in practice) turn the POST into a GET
  }
  throw new Error(`too many redirects from ${url.href}`);
}

function expectPage(outcome: Outcome, what: string): Reply & { url: URL } {
  if ('redirect' in outcome) throw new Error(`${what}: sent back to the client early: ${outcome.redirect.search.slice(0, 200)}`);
  expectStatus(outcome.page, 200, what);
  return outcome.page;
}

/**
 * One complete sign-in by a new browser: authorization request (PKCE S256, prompt=consent) -> login page -> POST
 * username and password -> consent page -> POST allow -> code at the redirect URI -> code exchange
 * at the token endpoint. Only an iteration that ends with an ID token and access token counts.
 */
async function login(target: Target, http: HttpClient, scope = 'openid profile email', as: { username: string; totpSecret?: string } = { username: target.info.username }): Promise<Tokens> {
  const { info } = target;
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(target.authorizationEndpoint);
  authorize.search = new URLSearchParams({
    client_id: info.clientId,
    redirect_uri: info.redirectUri,
    response_type: 'code',
    scope,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    // Gatehouse remembers consent per user and client; the bench asks for the consent page every
    // time so both servers do the same work (the baseline does not remember).
    prompt: 'consent',
  }).toString();

  const loginPage = expectPage(await navigate(http, jar, authorize, info.redirectUri), 'login page');
  // Gatehouse's password step posts to /password; the bare baseline keeps oidc-provider's /login.
  const loginForm = findForm(loginPage.body, loginPage.url, '/password') ?? findForm(loginPage.body, loginPage.url, '/login');
  if (!loginForm) throw new Error(`no login form at ${loginPage.url.pathname}`);
  const fields = { ...loginForm.fields, username: as.username, password: info.password };
  let consentPage = expectPage(await navigate(http, jar, new URL(loginForm.action), info.redirectUri, { form: fields, origin: info.origin }), 'consent page');
  if (as.totpSecret) {
    const totpForm = findForm(consentPage.body, consentPage.url, '/totp');
    if (!totpForm) throw new Error(`no TOTP form after the password at ${consentPage.url.pathname}`);
    const code = { ...totpForm.fields, code: totpCode(as.totpSecret) };
    consentPage = expectPage(await navigate(http, jar, new URL(totpForm.action), info.redirectUri, { form: code, origin: info.origin }), 'consent page after TOTP');
  }
  const consentForm = findForm(consentPage.body, consentPage.url, '/consent');
  if (!consentForm) throw new Error(`no consent form at ${consentPage.url.pathname}`);
  const back = await navigate(http, jar, new URL(consentForm.action), info.redirectUri, { form: consentForm.fields, origin: info.origin });
  if (!('redirect' in back)) throw new Error(`consent: HTTP ${back.page.status} instead of the redirect to the client`);
  const code = back.redirect.searchParams.get('code');
  if (!code || back.redirect.searchParams.get('state') !== state) throw new Error(`callback without code or state: ${back.redirect.search.slice(0, 200)}`);

  const reply = await http.request(target.tokenEndpoint, {
    headers: { authorization: target.basicAuth },
    form: { grant_type: 'authorization_code', code, redirect_uri: info.redirectUri, code_verifier: verifier },
  });
  expectStatus(reply, 200, 'code exchange');
  const tokens = JSON.parse(reply.body) as Tokens;
  if (!tokens.id_token || !tokens.access_token) throw new Error('code exchange: no id_token or access_token');
  return tokens;
}

interface Tokens {
  id_token?: string;
  access_token?: string;
  refresh_token?: string;
}

/** The next `totp-{n}` user of each server, carried across measurements so no user signs in twice within a 30 s step. */
const nextTotpUser = new Map<string, number>();

/** Password + TOTP logins, each by the next of the server's users with an authenticator app. */
async function prepareTotpLogin(target: Target): Promise<Iteration> {
  const users = target.info.totpUsers;
  if (!users) throw new Error(`${target.info.name} has no users with an authenticator app`);
  return async (http) => {
    const index = nextTotpUser.get(target.info.issuer) ?? 0;
    nextTotpUser.set(target.info.issuer, (index + 1) % users);
    await login(target, http, 'openid profile email', { username: `totp-${index}`, totpSecret: benchTotpSecret(index) });
  };
}

/** A workload that needs nothing prepared. */
const stateless =
  (iteration: (target: Target, http: HttpClient) => Promise<unknown>) =>
  async (target: Target): Promise<Iteration> =>
  async (http) => {
    await iteration(target, http);
  };

/** The workloads, in the order they are measured within a round. */
export const scenarios: readonly Scenario[] = [
  { key: 'clientCredentials', label: 'Client credentials grants/s (JWT)', concurrency: 16, prepare: stateless((target, http) => clientCredentials(target, http, 'jwt')) },
  { key: 'clientCredentialsOpaque', label: 'Client credentials grants/s (opaque)', concurrency: 16, prepare: stateless((target, http) => clientCredentials(target, http, 'opaque')) },
  { key: 'introspection', label: 'Introspections/s (opaque token)', concurrency: 16, prepare: prepareIntrospection },
  { key: 'refresh', label: 'Refresh-token grants/s', concurrency: 8, prepare: prepareRefresh },
  { key: 'discovery', label: 'Discovery requests/s', concurrency: 16, prepare: stateless((target, http) => getOk(http, target.discoveryUrl, 'discovery')) },
  { key: 'jwks', label: 'JWKS requests/s', concurrency: 16, prepare: stateless((target, http) => getOk(http, target.jwksUri, 'jwks')) },
  { key: 'login', label: 'Complete password logins/s', concurrency: 8, prepare: stateless(login) },
  {
    key: 'loginTotp',
    label: 'Complete password + TOTP logins/s',
    concurrency: 8,
    gatehouseOnly: { comparedWith: 'login' },
    prepare: prepareTotpLogin,
  },
];
