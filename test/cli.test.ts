import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { openNedbStore } from '../adapters/nedb.js';
import type { Collection } from '../adapters/store.js';
import { identifierKey } from '../src/domain/identifiers.js';
import { Browser, expectPage, expectRedirect } from './helpers/browser.js';
import { cli, runAsync } from './helpers/cli.js';
import { freePort, startGatehouse } from './helpers/gatehouse.js';
import { authorize, relyingParty } from './helpers/login.js';

function run(args: string[], env: Record<string, string>, input?: string, timeout = 60_000) {
  return spawnSync(process.execPath, [...cli, ...args], { cwd: process.cwd(), env: { ...process.env, ...env }, encoding: 'utf8', timeout, killSignal: 'SIGKILL', ...(input !== undefined ? { input } : {}) });
}

/** `gatehouse start` as a child process: its output so far, a wait for a line of it, and its exit code. */
function startCli(env: Record<string, string>) {
  // A short drain on SIGTERM: long enough to pass through it, short enough for a test.
  const child = spawn(process.execPath, [...cli, 'start'], { cwd: process.cwd(), env: { ...process.env, GATEHOUSE_DRAIN_DELAY_MS: '200', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    async until(text: string, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!output.includes(text) && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      return output;
    },
  };
}

// Each test starts CLI processes one after another (tsx included): seconds apiece on a busy machine.
describe('gatehouse start (development defaults, file store)', { timeout: 120_000 }, () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('seeds the demo tenant once, serves it, lets the demo user sign in to the account console, and drains on SIGTERM', async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = { NODE_ENV: 'development', GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: origin, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_LOG_LEVEL: 'info' };
    const { child, exited, output, until } = startCli(env);
    try {
      expect(await until('/t/demo/account')).toContain('password \\"gatehouse-demo\\"');

      const ready = await fetch(`${origin}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', store: 'ok' });
      const discovery = (await (await fetch(`${origin}/t/demo/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(discovery.issuer).toBe(`${origin}/t/demo`);

      // The account console: sign in as the demo user through the login page, see the profile, sign out.
      const browser = new Browser(origin);
      const signedOut = expectPage(await browser.navigate('/t/demo/account'));
      expect(signedOut.$('a[href$="/account/login"]').length).toBe(1);
      const login = expectPage(await browser.navigate('/t/demo/account/login'));
      const account = expectPage(await browser.submit(login, 'form[action$="/password"]', { username: 'demo', password: 'gatehouse-demo' }));
      expect(account.url).toBe(`${origin}/t/demo/account`);
      expect(account.$('main').text()).toContain('demo@example.com');
      const confirm = expectPage(await browser.submit(account, 'form[action$="/account/logout"]'));
      const back = expectPage(await browser.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
      expect(back.url).toBe(`${origin}/t/demo/account`);
      expect(back.$('a[href$="/account/login"]').length).toBe(1);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output()).toContain('shutting down');
      expect((await readFile(join(dataDir, 'master.key'), 'utf8')).trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('does not seed the demo twice', async () => {
    const port = await freePort();
    const { child, exited, until } = startCli({ NODE_ENV: 'development', GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEHOUSE_DATA_DIR: dataDir });
    const output = await until('/t/demo/account');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('sign in with the demo user');
    expect(output).not.toContain('gatehouse-demo\\"');
  });

  it('with only the port set, calls itself by that port: banner, issuer and the sign-in redirect', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-port-'));
    const port = await freePort();
    // Nothing but the port (and a data directory of its own): no public URL, no host.
    const { child, exited, until } = startCli({ NODE_ENV: 'development', GATEHOUSE_PORT: String(port), GATEHOUSE_PUBLIC_URL: '', GATEHOUSE_HOST: '', GATEHOUSE_DATA_DIR: dir });
    try {
      const output = await until('/t/demo/account');
      expect(output).toContain(`open http://localhost:${port}/t/demo/account`);
      expect(output).not.toContain('localhost:3000');
      const discovery = (await (await fetch(`http://127.0.0.1:${port}/t/demo/.well-known/openid-configuration`)).json()) as { issuer: string; authorization_endpoint: string };
      expect(discovery.issuer).toBe(`http://localhost:${port}/t/demo`);
      expect(discovery.authorization_endpoint).toBe(`http://localhost:${port}/t/demo/auth`);
      // "Sign in" on the account console sends the browser to this server's port.
      const signIn = await fetch(`http://127.0.0.1:${port}/t/demo/account/login`, { redirect: 'manual' });
      expect(signIn.status).toBe(302);
      expect(signIn.headers.get('location')).toMatch(new RegExp(`^http://localhost:${port}/t/demo/auth\\?`));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Each test starts CLI processes one after another (tsx included): seconds apiece on a busy machine.
describe('gatehouse commands', { timeout: 120_000 }, () => {
  it('prints usage and exits 2 on an unknown command or option', () => {
    const unknown = run(['frobnicate'], { NODE_ENV: 'test' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage: gatehouse');
    const option = run(['start', '--nope'], { NODE_ENV: 'test' });
    expect(option.status).toBe(2);
  });

  it('prints the overview and exits 2 when no command is given, instead of starting a server', async () => {
    // Were a server started, it would run until the timeout: status null.
    const env = { NODE_ENV: 'test', GATEHOUSE_STORE: 'memory', GATEHOUSE_PORT: String(await freePort()) };
    for (const args of [[], ['--config', 'gatehouse.json']]) {
      const none = run(args, env, undefined, 20_000);
      expect(none.status, args.join(' ')).toBe(2);
      expect(none.stderr).toContain('gatehouse: no command given; to run the server: gatehouse start');
      expect(none.stderr).toContain('Usage: gatehouse <command> [options]');
      expect(none.stderr).toMatch(/^ {2}start\b/m);
      expect(none.stdout).toBe('');
    }
    expect(run(['--help'], env).status).toBe(0);
  });

  it('rotates keys for an existing tenant and refuses an unknown one', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-keys-'));
    try {
      const env = { NODE_ENV: 'development', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_DEMO_SEED: 'false' };
      const missing = run(['keys', 'rotate'], env);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('--tenant');
      const unknown = run(['keys', 'rotate', '--tenant', 'nope'], env);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('no tenant "nope"');
      // `migrate` creates the indexes and the system tenant, which then gets its keys.
      const migrated = run(['migrate'], env);
      expect(migrated.status).toBe(0);
      expect(migrated.stdout).toContain('Migration complete');
      const rotated = run(['keys', 'rotate', '--tenant', 'system'], env);
      expect(rotated.stderr).not.toContain('gatehouse:');
      expect(rotated.status).toBe(0);
      expect(rotated.stdout).toContain('Added new signing keys (RS256, ES256)');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  // Six CLI processes one after another (four more side by side): slow on a busy machine.
  it('refuses a key activation sooner than the JWKS cache time unless forced, and lists keys with their states', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-keys-'));
    try {
      const env = { NODE_ENV: 'development', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_DEMO_SEED: 'false' };
      expect(run(['migrate'], env).status).toBe(0);
      expect(run(['keys', 'rotate', '--tenant', 'system'], env).status).toBe(0);
      // Refused before the store is opened, so these run side by side. Sooner than relying parties
      // may cache the JWKS (300 s) plus the refresh interval (300 s) is refused unless forced.
      const [fraction, tooLong, soon, noTenant] = await Promise.all(
        [['1.5'], [String(31 * 86400)], ['10']].map((value) => runAsync(['keys', 'rotate', '--tenant', 'system', '--activate-in', ...value], env)).concat(runAsync(['keys', 'list'], env)),
      );
      for (const refused of [fraction!, tooLong!, soon!, noTenant!]) expect(refused.status, refused.stderr).toBe(2);
      expect(soon!.stderr).toContain('at least 600');
      expect(soon!.stderr).toContain('--force');
      const forced = run(['keys', 'rotate', '--tenant', 'system', '--activate-in', '500', '--force'], env);
      expect(forced.status, forced.stderr).toBe(0);
      const listed = run(['keys', 'list', '--tenant', 'system'], env);
      expect(listed.status, listed.stderr).toBe(0);
      const lines = listed.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^KID\s+KIND\s+ALG\s+STATE\s+ACTIVATES\s+RETIRES\s+UNPUBLISHED$/);
      // The first rotation gave the tenant its keys (active at once); the forced one's sign in 500 s.
      expect(lines.slice(1)).toHaveLength(6);
      expect(lines.filter((line) => /\sactive\s/.test(line))).toHaveLength(3);
      expect(lines.filter((line) => /\snext\s/.test(line))).toHaveLength(3);
      expect(listed.stdout).not.toMatch(/"d"|PRIVATE/);
      expect(run(['keys', 'list', '--tenant', 'nope'], env).stderr).toContain('no tenant "nope"');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  it('migrate gives users stored before identifier keys their keys, oldest first, and reports the conflicts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-migrate-'));
    try {
      const legacy = async (write: (users: Collection) => Promise<void>) => {
        const store = await openNedbStore({ dir: join(dataDir, 'store') });
        await write(store.collection('users'));
        await store.close();
      };
      const user = (id: string, username: string, createdAt: Date, email?: string) => ({
        _id: id, tenant: 'acme', username, ...(email ? { email } : {}), emailVerified: false, phoneVerified: false, disabled: false, createdAt, updatedAt: createdAt,
      });
      // As the previous version could store them: the later user's username is the older one's address.
      await legacy(async (users) => {
        await users.insertOne(user('mallory', 'alice@example.com', new Date('2026-02-01T00:00:00Z')));
        await users.insertOne(user('alice', 'alice', new Date('2026-01-01T00:00:00Z'), 'alice@example.com'));
      });
      const migrated = run(['migrate'], { NODE_ENV: 'development', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_DEMO_SEED: 'false' });
      expect(migrated.status, migrated.stderr).toBe(0);
      expect(migrated.stdout).toContain('1 identifier(s) of older users are held by other users');
      expect(migrated.stderr).toContain('user mallory cannot sign in by its username: user alice has the same or a look-alike identifier');
      await legacy(async (users) => {
        expect((await users.findOne({ _id: 'alice' }))?.['identifierKeys']).toEqual([identifierKey('alice'), identifierKey('alice@example.com')]);
        expect((await users.findOne({ _id: 'mallory' }))?.['identifierKeys']).toBeUndefined();
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('prints help', () => {
    const help = run(['--help'], { NODE_ENV: 'test' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('keys rotate --tenant <id>');
  });
});

describe('the file store next to a running server', () => {
  it('refuses a command while the server holds the store, with what to do and exit code 75, and loses nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-locked-'));
    try {
      const gh = await startGatehouse({ store: { kind: 'nedb' }, dataDir });
      let stopped = false;
      try {
        await gh.app.tenants.create({ id: 'before', displayName: 'Made by the server' });
        const env = { NODE_ENV: 'test', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_MASTER_KEY: gh.app.config.masterKey! };
        const refused = run(['tenant', 'create', '--id', 'acme', '--name', 'Acme'], env);
        expect(refused.status).toBe(75);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toContain(`gatehouse: the file store in ${join(dataDir, 'store')} is in use by another Gatehouse process ${process.pid}`);
        expect(refused.stderr).toContain('stop the server first, or make the change through the admin API while it runs');
        expect(refused.stderr).not.toContain('Usage:');
        expect(await gh.app.tenants.find('acme')).toBeNull();
        await gh.stop();
        stopped = true;
        // The server closed the store and released it: everything it wrote is there, and nothing else.
        const list = run(['tenant', 'list'], env);
        expect(list.status, list.stderr).toBe(0);
        expect(list.stdout).toMatch(/^before +Made by the server /m);
        expect(list.stdout).not.toContain('acme');
      } finally {
        if (!stopped) await gh.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

// Each test starts CLI processes one after another (tsx included): seconds apiece on a busy machine.
describe('gatehouse tenant, user and client commands', { timeout: 120_000 }, () => {
  it('refuses bad arguments with exit code 2, the problem and the command\'s usage', async () => {
    // None of these gets as far as the store (the memory store, to be sure), so they run side by side.
    const env = { NODE_ENV: 'test', GATEHOUSE_STORE: 'memory' };
    const cases: Array<[string[], string, string]> = [
      [['tenant', 'create', '--id', 'acme'], 'missing --name <display name>', 'Usage: gatehouse tenant create --id <id> --name <display name>'],
      [['tenant', 'create', '--id', 'acme', '--name', 'Acme', '--colour', 'red'], 'unknown option --colour for "tenant create"', 'Usage: gatehouse tenant create'],
      [['tenant'], 'missing tenant command; one of: tenant create, tenant list', 'Usage: gatehouse <command>'],
      [['tenant', 'list', 'extra'], 'unexpected argument "extra"', 'Usage: gatehouse tenant list'],
      // A password is never taken from argv, where `ps` shows it to every user of the machine.
      [['user', 'create', '--tenant', 'acme', '--username', 'bob', '--password', 'hunter2hunter2'], 'unknown option --password for "user create"', '--password-stdin'],
      [['user', 'create', '--tenant', 'acme', '--username', 'bob smith'], '--username is not a valid username (the character U+0020 is not allowed', 'Usage: gatehouse user create'],
      [['user', 'create', '--tenant', 'acme', '--username', 'pаypal'], 'must not mix letters of different scripts', 'Usage: gatehouse user create'],
      [['user', 'create', '--tenant', 'acme', '--username', 'bob', '--email', 'not-an-address'], '--email "not-an-address" is not an e-mail address', 'Usage: gatehouse user create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'Web'], 'missing --redirect-uri <uri> (repeatable), --device or --service-account', 'Usage: gatehouse client create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'TV', '--device', '--redirect-uri', 'https://app.example/cb'], 'use one of --redirect-uri', 'Usage: gatehouse client create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'TV', '--device', '--id', 'gatehouse-cli'], 'reserved for the command line', 'Usage: gatehouse client create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'Bot', '--service-account', '--public'], 'cannot be --public', 'Usage: gatehouse client create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'Bot', '--service-account', '--first-party'], 'cannot be --first-party', 'Usage: gatehouse client create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'Web', '--redirect-uri', 'http://app.example/cb'], '--redirect-uri "http://app.example/cb": must use https', 'Usage: gatehouse client create'],
      [['client', 'create', '--tenant', 'acme', '--name', 'Web', '--redirect-uri', 'https://app.example/cb', '--id', 'bad id!'], '--id is 1-100 letters, digits', 'Usage: gatehouse client create'],
      // oidc-provider's own client validation: a native app (private-use scheme) may not use https://localhost.
      [['client', 'create', '--tenant', 'acme', '--name', 'App', '--redirect-uri', 'com.example.app:/cb', '--redirect-uri', 'https://localhost/cb'], 'this client would be refused: redirect_uris:', 'Usage: gatehouse client create'],
    ];
    const results = await Promise.all(cases.map(([args]) => runAsync(args, env)));
    results.forEach((result, index) => {
      const [args, problem, usage] = cases[index]!;
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(problem);
      expect(result.stderr, args.join(' ')).toContain(usage);
      expect(result.stdout, args.join(' ')).toBe('');
    });
    const help = await runAsync(['client', 'create', '--help'], env);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--service-account');
    expect(help.stdout).toContain('--first-party');
  }, 120_000);

  it('creates a tenant, a user and clients that sign in for real, refuses duplicates and unknown tenants, and audits every change', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-admin-cli-'));
    const env = { NODE_ENV: 'test', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PUBLIC_URL: 'http://id.localhost:3000' };
    const password = 'correct horse battery';
    try {
      const tenant = run(['tenant', 'create', '--id', 'acme', '--name', 'Acme Corp'], env);
      expect(tenant.stderr).not.toContain('gatehouse:');
      expect(tenant.status).toBe(0);
      expect(tenant.stdout.trim()).toBe('Created tenant "acme" with signing keys. Issuer: http://id.localhost:3000/t/acme');
      const duplicate = run(['tenant', 'create', '--id', 'acme', '--name', 'Again'], env);
      expect(duplicate.status).toBe(2);
      expect(duplicate.stderr).toContain('tenant acme already exists');
      expect(duplicate.stderr).toContain('Usage: gatehouse tenant create');
      const list = run(['tenant', 'list'], env);
      expect(list.status).toBe(0);
      expect(list.stdout).toMatch(/^acme +Acme Corp +http:\/\/id\.localhost:3000\/t\/acme$/m);

      const user = run(['user', 'create', '--tenant', 'acme', '--username', 'Alice', '--email', 'alice@example.com', '--password-stdin'], env, `${password}\n`);
      expect(user.stderr).not.toContain('gatehouse:');
      expect(user.status).toBe(0);
      const userId = user.stdout.trim();
      expect(userId).toMatch(/^[0-9a-f-]{36}$/);
      const taken = run(['user', 'create', '--tenant', 'acme', '--username', 'alice', '--password-stdin'], env, 'another password');
      expect(taken.status).toBe(2);
      expect(taken.stderr).toContain('already exists');
      // A username that is (a spelling of) another user's e-mail address is taken too.
      const capture = run(['user', 'create', '--tenant', 'acme', '--username', 'ALICE@EXAMPLE.COM', '--password-stdin'], env, 'another password');
      expect(capture.status).toBe(2);
      expect(capture.stderr).toContain('already exists');
      // The same rules as every other way in (authn/password-acceptance.ts): long enough, not common, not made of the username.
      const refusals: Array<[string, string, string]> = [
        ['bob', 'short', 'the password on stdin is refused (too_short): Use at least 8 characters.'],
        ['bob', 'Sunshine2024!', 'refused (breached)'],
        ['bobthebuilder', 'BobTheBuilder99', 'refused (like_identity)'],
      ];
      for (const [name, secret, answer] of refusals) {
        const refused = run(['user', 'create', '--tenant', 'acme', '--username', name, '--password-stdin'], env, `${secret}\n`);
        expect(refused.status, secret).toBe(2);
        expect(refused.stderr).toContain(answer);
      }

      const web = run(['client', 'create', '--tenant', 'acme', '--name', 'Web', '--redirect-uri', 'http://127.0.0.1:9/cb'], env);
      expect(web.status).toBe(0);
      const webId = /^client_id: (\S+)$/m.exec(web.stdout)?.[1];
      const webSecret = /^client_secret: (\S+)$/m.exec(web.stdout)?.[1];
      expect(webId).toBeTruthy();
      expect(webSecret!.length).toBeGreaterThanOrEqual(43);
      expect(web.stderr).toContain('not shown again');
      const own = run(['client', 'create', '--tenant', 'acme', '--name', 'Own', '--redirect-uri', 'http://127.0.0.1:9/own', '--public', '--first-party', '--id', 'own'], env);
      expect(own.stderr).not.toContain('gatehouse:');
      expect(own.status).toBe(0);
      const bot = run(['client', 'create', '--tenant', 'acme', '--name', 'Bot', '--service-account', '--id', 'bot'], env);
      expect(bot.status).toBe(0);
      const tv = run(['client', 'create', '--tenant', 'acme', '--name', 'TV', '--device', '--id', 'tv'], env);
      expect(tv.status, tv.stderr).toBe(0);
      expect(tv.stdout).not.toContain('client_secret');
      const botSecret = /^client_secret: (\S+)$/m.exec(bot.stdout)?.[1];
      const again = run(['client', 'create', '--tenant', 'acme', '--name', 'Bot', '--service-account', '--id', 'bot'], env);
      expect(again.status).toBe(2);
      expect(again.stderr).toContain('client bot already exists');
      const nowhere = run(['client', 'create', '--tenant', 'nope', '--name', 'Bot', '--service-account'], env);
      expect(nowhere.status).toBe(2);
      expect(nowhere.stderr).toContain('there is no tenant "nope"');

      // Every command closed the store: a server opens it now, and what the CLI made works there.
      const gh = await startGatehouse({ store: { kind: 'nedb' }, dataDir, masterKey: (await readFile(join(dataDir, 'master.key'), 'utf8')).trim() });
      try {
        const rp = await relyingParty(gh, 'acme', webId!, webSecret);
        const { callback, verifier, state } = await authorize(new Browser(gh.origin), rp, { redirectUri: 'http://127.0.0.1:9/cb', scope: 'openid', username: 'alice', password });
        const tokens = await client.authorizationCodeGrant(rp, callback, { pkceCodeVerifier: verifier, expectedState: state });
        expect(tokens.claims()?.sub).toBe(userId);
        // The device app: registered for the device grant, public.
        const tvRp = await client.discovery(new URL(gh.issuer('acme')), 'tv', undefined, client.None(), { execute: [client.allowInsecureRequests] });
        expect((await client.initiateDeviceAuthorization(tvRp, { scope: 'openid' })).user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
        // The first-party client: even asked to (prompt=consent), no consent page between login and the app.
        const ownRp = await relyingParty(gh, 'acme', 'own');
        const ownBrowser = new Browser(gh.origin);
        const ownUrl = client.buildAuthorizationUrl(ownRp, {
          redirect_uri: 'http://127.0.0.1:9/own',
          scope: 'openid profile',
          prompt: 'consent',
          code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
          code_challenge_method: 'S256',
        });
        const ownLogin = expectPage(await ownBrowser.navigate(ownUrl.href, {}, 'http://127.0.0.1:9/own'));
        const ownBack = await ownBrowser.submit(ownLogin, 'form[action$="/password"]', { username: 'alice', password }, 'http://127.0.0.1:9/own');
        expect(new URL(expectRedirect(ownBack)).searchParams.get('code')).toEqual(expect.any(String));
        const service = await relyingParty(gh, 'acme', 'bot', botSecret);
        expect((await client.clientCredentialsGrant(service, {})).access_token).toBeTruthy();

        // What the CLI changed (the two sign-ins above are the user's own events, user.signed_in).
        const events = (await gh.app.audit.list('acme', { limit: 20 })).filter((event) => event.type !== 'user.signed_in');
        expect(events.map((event) => event.type).sort()).toEqual(['client.created', 'client.created', 'client.created', 'service_account.created', 'tenant.created', 'user.created']);
        expect(events.find((event) => event.target.id === 'own')?.after).toMatchObject({ first_party: true, token_endpoint_auth_method: 'none' });
        for (const event of events) expect(event.actor).toEqual({ type: 'system', id: 'cli', tenant: 'system' });
        const trail = JSON.stringify(events);
        for (const secret of [password, webSecret!, botSecret!, '$argon2']) expect(trail).not.toContain(secret);
      } finally {
        await gh.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
