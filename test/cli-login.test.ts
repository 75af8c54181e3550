/**
 * `gatehouse login`, `api` and `logout` against a running server: the device login of an operator
 * (the code read from the command's output, approved through the real pages), the token file (mode
 * 0600), admin API calls with it (the user's roles decide the scopes), sign-out revoking the refresh
 * token, and bad input on the command line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from './admin/helpers.js';
import { Browser, expectPage } from './helpers/browser.js';
import { cli, runAsync } from './helpers/cli.js';
import { seedTenant, startGatehouse, TEST_PASSWORD, type TestGatehouse } from './helpers/gatehouse.js';

let gh: TestGatehouse;
const credentials = mkdtempSync(join(tmpdir(), 'gatehouse-credentials-'));
const env = { GATEHOUSE_CREDENTIALS_DIR: credentials };

beforeAll(async () => {
  gh = await startGatehouse();
  const acme = await seedTenant(gh, 'acme');
  await gh.app.roles.create('acme', { name: 'user-reader', permissions: [{ api: adminApi(gh), scope: 'admin:users:read' }] });
  await gh.app.users.setRoles('acme', acme.userId, ['user-reader']);
});
afterAll(() => gh.stop());

/** Runs `gatehouse login`, approves its code in a browser as alice, and resolves with how it ended. */
async function loginAndApprove(): Promise<{ status: number | null; stdout: string; stderr: string; userCode: string }> {
  const child = spawn(process.execPath, [...cli, 'login', '--url', gh.origin, '--tenant', 'acme'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const userCode = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /enter the code\s+([A-Z]{4}-[A-Z]{4})/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    child.on('close', () => reject(new Error(`login ended before showing a code:\n${stdout}\n${stderr}`)));
  });
  const browser = new Browser(gh.origin);
  const entry = expectPage(await browser.navigate(`${gh.issuer('acme')}/device`));
  const confirm = expectPage(await browser.submit(entry, 'form[action$="/device"]', { user_code: userCode }));
  expect(confirm.$('h1').text()).toContain('Sign in to Gatehouse command line on your device?');
  const login = expectPage(await browser.submit(confirm, 'form[action$="/device"]', {}, undefined, { button: { name: 'confirm', value: 'yes' } }));
  const done = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'alice', password: TEST_PASSWORD }));
  expect(done.$('h1').text()).toContain('Your device is signed in');
  return { status: await exited, stdout, stderr, userCode };
}

describe('gatehouse login, api and logout', () => {
  it('signs an operator in through the browser, keeps the token in a file only they can read, and calls the admin API with it', async () => {
    const result = await loginAndApprove();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${gh.issuer('acme')}/device`);
    // The QR code of verification_uri_complete, drawn with block characters.
    expect(result.stdout).toMatch(/[▀▄█]/);
    expect(result.stdout).toContain('Admin scopes: admin:users:read');

    const [file] = readdirSync(credentials);
    const path = join(credentials, file!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(credentials).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { refresh_token?: string; access_token: string };
    expect(stored.refresh_token).toBeTruthy();

    const users = await runAsync(['api', '--url', gh.origin, '--path', '/tenants/acme/users'], env);
    expect(users.status, users.stderr).toBe(0);
    expect((JSON.parse(users.stdout) as { items: Array<{ username: string }> }).items.map((user) => user.username)).toContain('alice');
    // Beyond the user's roles: the API refuses, and the command says so with exit code 1.
    const tenants = await runAsync(['api', '--url', gh.origin, '--path', '/tenants'], env);
    expect(tenants.status).toBe(1);
    expect(tenants.stderr, tenants.stderr).toMatch(/"error":"(forbidden|insufficient_scope)"/);

    const out = await runAsync(['logout', '--url', gh.origin], env);
    expect(out.status).toBe(0);
    expect(readdirSync(credentials)).toEqual([]);
    // The refresh token was revoked, not only forgotten.
    const config = await client.discovery(new URL(gh.issuer('acme')), 'gatehouse-cli', undefined, client.None(), { execute: [client.allowInsecureRequests] });
    await expect(client.refreshTokenGrant(config, stored.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const after = await runAsync(['api', '--url', gh.origin, '--path', '/tenants/acme/users'], env);
    expect(after.status).toBe(2);
    expect(after.stderr).toContain(`not signed in to ${gh.origin}; run: gatehouse login`);
  }, 120_000);

  it('refuses bad arguments with a clear message and exit code 2', async () => {
    const cases = [
      [['login', '--tenant', 'acme'], 'missing --url'],
      [['login', '--url', gh.origin], 'missing --tenant'],
      [['login', '--url', 'ftp://example.com', '--tenant', 'acme'], "--url must be the server's public URL"],
      [['login', '--url', 'http://login.example.com', '--tenant', 'acme'], '--url must use https'],
      [['api', '--url', gh.origin, '--path', 'tenants'], '--path is a path below /admin/v1'],
      [['api', '--url', gh.origin, '--path', '/tenants', '--method', 'TRACE'], '--method is one of'],
      [['api', '--url', gh.origin, '--path', '/tenants', '--data', '{oops'], '--data must be JSON'],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => runAsync([...args], env)));
    cases.forEach(([args, message], index) => {
      expect(results[index]!.status, args.join(' ')).toBe(2);
      expect(results[index]!.stderr).toContain(message);
    });
    const unknownTenant = await runAsync(['login', '--url', gh.origin, '--tenant', 'nope'], env);
    expect(unknownTenant.status).toBe(1);
    expect(unknownTenant.stderr).toContain('could not reach tenant "nope"');
  }, 120_000);

  it('has its client built in to every tenant, not stored and not registrable', async () => {
    expect(await gh.app.clients.find('acme', 'gatehouse-cli')).toBeUndefined();
    const discovery = await client.discovery(new URL(gh.issuer('acme')), 'gatehouse-cli', undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const started = await client.initiateDeviceAuthorization(discovery, { scope: 'openid' });
    expect(started.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
  });
});
