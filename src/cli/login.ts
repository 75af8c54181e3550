import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import QRCode from 'qrcode';
import { adminApiIdentifier, allAdminScopes } from '../domain/admin-api.js';
import { CLI_CLIENT_ID } from '../domain/clients.js';
import { optional, required, UsageError, type Command, type OptionValues } from './command.js';

/** What `gatehouse login` keeps per server URL, in a file only its owner may read (mode 0600). */
interface Credentials {
  url: string;
  tenant: string;
  access_token: string;
  refresh_token?: string;
  /** epoch seconds */
  expires_at?: number;
}

/** `GATEHOUSE_CREDENTIALS_DIR`, else `$XDG_CONFIG_HOME/gatehouse/credentials` (`~/.config/...`). */
export function credentialsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['GATEHOUSE_CREDENTIALS_DIR'] ?? join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'gatehouse', 'credentials');
}

/** The server's public URL without a trailing slash; plain http only to this machine, so tokens never cross a network in the clear. */
function serverUrl(values: OptionValues): string {
  const raw = required(values, 'url', '<public URL of the server>');
  const url = URL.parse(raw);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) throw new UsageError(`--url must be the server's public URL, such as https://login.example.com (got "${raw}")`);
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol === 'http:' && !loopback) throw new UsageError(`--url must use https: tokens are not sent over plain http except to this machine (got "${raw}")`);
  return url.href.replace(/\/+$/, '');
}

function credentialsFile(url: string): string {
  return join(credentialsDir(), `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.json`);
}

async function readCredentials(url: string): Promise<Credentials | undefined> {
  try {
    return JSON.parse(await readFile(credentialsFile(url), 'utf8')) as Credentials;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function saveCredentials(credentials: Credentials): Promise<string> {
  const dir = credentialsDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = credentialsFile(credentials.url);
  // Written with mode 0600, and set again in case the file existed with a wider one.
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

async function clientOf(url: string, tenant: string): Promise<oidc.Configuration> {
  const issuer = new URL(`${url}/t/${encodeURIComponent(tenant)}`);
  const options = issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {};
  try {
    return await oidc.discovery(issuer, CLI_CLIENT_ID, undefined, oidc.None(), options);
  } catch (error) {
    throw new Error(`could not reach tenant "${tenant}" at ${url} (${(error as Error).message}); check --url and --tenant`, { cause: error });
  }
}

function tokensToCredentials(url: string, tenant: string, tokens: oidc.TokenEndpointResponse, previous?: Credentials): Credentials {
  const refreshToken = tokens.refresh_token ?? previous?.refresh_token;
  return {
    url,
    tenant,
    access_token: tokens.access_token,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(tokens.expires_in ? { expires_at: Math.floor(Date.now() / 1000) + tokens.expires_in } : {}),
  };
}

async function login(values: OptionValues): Promise<number> {
  const url = serverUrl(values);
  const tenant = required(values, 'tenant', '<id>');
  const config = await clientOf(url, tenant);
  const resource = adminApiIdentifier(new URL(url).origin);
  const started = await oidc.initiateDeviceAuthorization(config, { scope: ['openid', 'offline_access', ...allAdminScopes].join(' '), resource });
  const complete = started.verification_uri_complete ?? started.verification_uri;
  const qr = await QRCode.toString(complete, { type: 'terminal', small: true });
  process.stdout.write(
    [`To sign in, open ${started.verification_uri}`, `and enter the code  ${started.user_code}`, '', `or scan this code to open ${complete}:`, qr, `Waiting for approval (the code expires in ${Math.round(started.expires_in / 60)} minutes)...`, ''].join('\n'),
  );
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.pollDeviceAuthorizationGrant(config, started, { resource });
  } catch (error) {
    const code = (error as { error?: string }).error;
    if (code === 'access_denied') console.error('gatehouse: the sign-in was denied in the browser');
    else if (code === 'expired_token') console.error('gatehouse: the code expired before anyone approved it; run gatehouse login again');
    else console.error(`gatehouse: sign-in failed: ${(error as Error).message}`);
    return 1;
  }
  const file = await saveCredentials(tokensToCredentials(url, tenant, tokens));
  const granted = (tokens.scope ?? '').split(' ').filter((scope) => scope.startsWith('admin:'));
  console.log(`Signed in to tenant "${tenant}" at ${url}. Admin scopes: ${granted.length ? granted.join(' ') : 'none (your roles grant no admin access)'}.`);
  console.log(`Credentials saved to ${file} (readable by you only). Sign out with: gatehouse logout --url ${url}`);
  return 0;
}

/** The stored access token, refreshed first when it has expired (or is about to). */
async function accessToken(url: string): Promise<string> {
  const stored = await readCredentials(url);
  if (!stored) throw new UsageError(`not signed in to ${url}; run: gatehouse login --url ${url} --tenant <id>`);
  if (stored.expires_at === undefined || stored.expires_at - 30 > Date.now() / 1000) return stored.access_token;
  if (!stored.refresh_token) throw new UsageError(`the sign-in to ${url} has expired; run: gatehouse login --url ${url} --tenant ${stored.tenant}`);
  const config = await clientOf(url, stored.tenant);
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.refreshTokenGrant(config, stored.refresh_token, { resource: adminApiIdentifier(new URL(url).origin) });
  } catch (error) {
    throw new UsageError(`the sign-in to ${url} has ended (${(error as Error).message}); run: gatehouse login --url ${url} --tenant ${stored.tenant}`);
  }
  const renewed = tokensToCredentials(url, stored.tenant, tokens, stored);
  await saveCredentials(renewed);
  return renewed.access_token;
}

async function api(values: OptionValues): Promise<number> {
  const url = serverUrl(values);
  const path = required(values, 'path', '<path below /admin/v1>');
  if (!path.startsWith('/') || path.startsWith('//')) throw new UsageError('--path is a path below /admin/v1, starting with "/", such as /tenants');
  const method = (optional(values, 'method') ?? 'GET').toUpperCase();
  if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw new UsageError('--method is one of GET, POST, PUT, PATCH, DELETE');
  const data = optional(values, 'data');
  if (data !== undefined) {
    try {
      JSON.parse(data);
    } catch {
      throw new UsageError('--data must be JSON');
    }
  }
  const token = await accessToken(url);
  const response = await fetch(`${url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(data !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(data !== undefined ? { body: data } : {}),
  });
  const text = await response.text();
  (response.ok ? process.stdout : process.stderr).write(`${text}${text.endsWith('\n') ? '' : '\n'}`);
  return response.ok ? 0 : 1;
}

async function logout(values: OptionValues): Promise<number> {
  const url = serverUrl(values);
  const stored = await readCredentials(url);
  if (!stored) {
    console.log(`Not signed in to ${url}.`);
    return 0;
  }
  // Revoked first (best effort: the server may be gone), so the refresh token stops working anywhere.
  if (stored.refresh_token) {
    try {
      await oidc.tokenRevocation(await clientOf(url, stored.tenant), stored.refresh_token, { token_type_hint: 'refresh_token' });
    } catch (error) {
      console.error(`gatehouse: could not revoke the refresh token at ${url} (${(error as Error).message}); removing it here anyway`);
    }
  }
  await rm(credentialsFile(url), { force: true });
  console.log(`Signed out of ${url}.`);
  return 0;
}

/** `gatehouse login`, `api` and `logout`: an operator's sign-in over the device flow, and admin API calls with it. */
export const loginCommands: Command[] = [
  {
    name: 'login',
    synopsis: '--url <public URL> --tenant <id>',
    summary: 'sign in as an operator with a browser (device login) and keep the token for gatehouse api',
    details:
      'Shows a code, a URL and a QR code; approve in any browser, with your password and second\n' +
      'factor. The token (and a refresh token) are stored per server URL in a file only you can read,\n' +
      'in $GATEHOUSE_CREDENTIALS_DIR or ~/.config/gatehouse/credentials. Your roles decide which admin\n' +
      'scopes it carries. Plain http is accepted only for localhost. See docs/device-flow.md.',
    options: { url: { type: 'string' }, tenant: { type: 'string' } },
    run: (_config, values) => login(values),
  },
  {
    name: 'api',
    synopsis: '--url <public URL> --path <path> [--method GET|POST|PUT|PATCH|DELETE] [--data <json>]',
    summary: 'call the admin API with the token of gatehouse login (refreshed when it has expired)',
    details: 'Prints the response body; exit code 1 when the API answers an error. Example:\n  gatehouse api --url https://login.example.com --path /tenants/acme/users',
    options: { url: { type: 'string' }, path: { type: 'string' }, method: { type: 'string' }, data: { type: 'string' } },
    run: (_config, values) => api(values),
  },
  {
    name: 'logout',
    synopsis: '--url <public URL>',
    summary: 'revoke and remove the token gatehouse login stored for a server',
    options: { url: { type: 'string' } },
    run: (_config, values) => logout(values),
  },
];
