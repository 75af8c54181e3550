import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, expectPage, expectRedirect } from './helpers/browser.js';
import { freePort } from './helpers/gatehouse.js';

const cli = ['--import', 'tsx', 'src/main.ts'];

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...cli, ...args], { cwd: process.cwd(), env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

describe('gatehouse start (development defaults, file store)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('seeds the demo tenant once, serves it, lets the demo user sign in to the account console, and drains on SIGTERM', async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = { NODE_ENV: 'development', GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: origin, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_LOG_LEVEL: 'info' };
    const child = spawn(process.execPath, [...cli, 'start'], { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes('/t/demo/account') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(output).toContain('password \\"gatehouse-demo\\"');

      const ready = await fetch(`${origin}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', store: 'nedb-file' });
      const discovery = (await (await fetch(`${origin}/t/demo/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(discovery.issuer).toBe(`${origin}/t/demo`);

      // The account console: sign in as the demo user through the login page, see the profile, sign out.
      const browser = new Browser(origin);
      const signedOut = expectPage(await browser.navigate('/t/demo/account'));
      expect(signedOut.$('a[href$="/account/login"]').length).toBe(1);
      const login = expectPage(await browser.navigate('/t/demo/account/login'));
      const account = expectPage(await browser.submit(login, 'form[action$="/login"]', { username: 'demo', password: 'gatehouse-demo' }));
      expect(account.url).toBe(`${origin}/t/demo/account`);
      expect(account.$('main').text()).toContain('demo@example.com');
      const confirm = expectPage(await browser.submit(account, 'form[action$="/account/logout"]'));
      const back = expectPage(await browser.submit(confirm, 'form', {}, undefined, { button: { name: 'logout', value: 'yes' } }));
      expect(back.url).toBe(`${origin}/t/demo/account`);
      expect(back.$('a[href$="/account/login"]').length).toBe(1);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('shutting down');
      expect((await readFile(join(dataDir, 'master.key'), 'utf8')).trim()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('does not seed the demo twice', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [...cli, 'start'], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_ENV: 'development', GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEHOUSE_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!output.includes('/t/demo/account') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('sign in with the demo user');
    expect(output).not.toContain('gatehouse-demo\\"');
  });
});

describe('gatehouse commands', () => {
  it('prints usage and exits 2 on an unknown command or option', () => {
    const unknown = run(['frobnicate'], { NODE_ENV: 'test' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage: gatehouse');
    const option = run(['start', '--nope'], { NODE_ENV: 'test' });
    expect(option.status).toBe(2);
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

  it('prints help', () => {
    const help = run(['--help'], { NODE_ENV: 'test' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('keys rotate --tenant <id>');
  });
});
