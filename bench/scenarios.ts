/**
 * The measured workloads, written once and run unchanged against Gatehouse and the baseline. Each
 * iteration checks its own result, so only complete successes are counted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CookieJar, findForm, type HttpClient, type Reply } from './http.js';
import type { ServerInfo } from './shared.js';

/** A server under test with the endpoints its discovery document names. */
export interface Target {
  info: ServerInfo;
  discoveryUrl: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** `Authorization` header for the confidential client */
  basicAuth: string;
}

export interface Scenario {
  key: 'clientCredentials' | 'discovery' | 'jwks' | 'login';
  label: string;
  /** concurrent workers (requests or login loops) */
  concurrency: number;
  /** one iteration against `target` using `http` */
  run(target: Target, http: HttpClient): Promise<void>;
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

/** A JWT access token for the API (RFC 8707 resource indicator), Basic client authentication. */
async function clientCredentials(target: Target, http: HttpClient): Promise<void> {
  const reply = await http.request(target.tokenEndpoint, {
    headers: { authorization: target.basicAuth },
    form: { grant_type: 'client_credentials', resource: target.info.api, scope: 'read' },
  });
  expectStatus(reply, 200, 'client_credentials');
  const tokens = JSON.parse(reply.body) as { access_token?: string };
  if (!tokens.access_token?.includes('.')) throw new Error('client_credentials: no JWT access token');
}

async function getOk(http: HttpClient, url: string, what: string): Promise<void> {
  const reply = await http.request(url, { headers: { accept: 'application/json' } });
  expectStatus(reply, 200, what);
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
async function login(target: Target, http: HttpClient): Promise<void> {
  const { info } = target;
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(target.authorizationEndpoint);
  authorize.search = new URLSearchParams({
    client_id: info.clientId,
    redirect_uri: info.redirectUri,
    response_type: 'code',
    scope: 'openid profile email',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    // Gatehouse remembers consent per user and client; the bench asks for the consent page every
    // time so both servers do the same work (the baseline does not remember).
    prompt: 'consent',
  }).toString();

  const loginPage = expectPage(await navigate(http, jar, authorize, info.redirectUri), 'login page');
  const loginForm = findForm(loginPage.body, loginPage.url, '/login');
  if (!loginForm) throw new Error(`no login form at ${loginPage.url.pathname}`);
  const fields = { ...loginForm.fields, username: info.username, password: info.password };
  const consentPage = expectPage(await navigate(http, jar, new URL(loginForm.action), info.redirectUri, { form: fields, origin: info.origin }), 'consent page');
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
  const tokens = JSON.parse(reply.body) as { id_token?: string; access_token?: string };
  if (!tokens.id_token || !tokens.access_token) throw new Error('code exchange: no id_token or access_token');
}

/** The workloads, in the order they are measured within a round. */
export const scenarios: readonly Scenario[] = [
  { key: 'clientCredentials', label: 'Client credentials grants/s', concurrency: 16, run: clientCredentials },
  { key: 'discovery', label: 'Discovery requests/s', concurrency: 16, run: (target, http) => getOk(http, target.discoveryUrl, 'discovery') },
  { key: 'jwks', label: 'JWKS requests/s', concurrency: 16, run: (target, http) => getOk(http, target.jwksUri, 'jwks') },
  { key: 'login', label: 'Complete password logins/s', concurrency: 8, run: login },
];
