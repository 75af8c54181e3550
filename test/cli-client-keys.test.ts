import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync as run } from './helpers/cli.js';
import { startGatehouse } from './helpers/gatehouse.js';

describe('gatehouse client create with keys (private_key_jwt)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-keys-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses bad key options with exit code 2 and the problem', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    await writeFile(join(dir, 'private.json'), JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    await writeFile(join(dir, 'public.json'), JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    await writeFile(join(dir, 'broken.json'), '{"keys": [');
    const env = { NODE_ENV: 'test', GATEHOUSE_STORE: 'memory' };
    const bot = ['client', 'create', '--tenant', 'acme', '--name', 'Bot', '--service-account'];
    const cases: Array<[string[], string]> = [
      [[...bot, '--jwks-file', join(dir, 'private.json')], 'private key member'],
      [[...bot, '--jwks-file', join(dir, 'broken.json')], 'is not JSON'],
      [[...bot, '--jwks-file', join(dir, 'missing.json')], 'cannot read'],
      [[...bot, '--jwks-file', join(dir, 'public.json'), '--jwks-uri', 'https://keys.example/jwks'], 'either --jwks-file or --jwks-uri'],
      [[...bot, '--jwks-uri', 'http://keys.example/jwks'], '--jwks-uri: must use https'],
      [['client', 'create', '--tenant', 'acme', '--name', 'Spa', '--redirect-uri', 'https://app.example/cb', '--public', '--jwks-uri', 'https://keys.example/jwks'], 'cannot be --public'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args, env)));
    results.forEach((result, index) => {
      const [args, problem] = cases[index]!;
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(problem);
      expect(result.stdout, args.join(' ')).toBe('');
    });
  }, 60_000);

  it('registers a service account with its public keys, no secret, and it gets tokens with openid-client', async () => {
    const dataDir = join(dir, 'data');
    const env = { NODE_ENV: 'test', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_PUBLIC_URL: 'http://id.localhost:3000' };
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    await writeFile(join(dir, 'bot.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bot-1', use: 'sig' }] }));
    expect((await run(['tenant', 'create', '--id', 'acme', '--name', 'Acme'], env)).status).toBe(0);
    const created = await run(['client', 'create', '--tenant', 'acme', '--name', 'Bot', '--service-account', '--id', 'key-bot', '--jwks-file', join(dir, 'bot.json')], env);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain('client_id: key-bot');
    expect(created.stdout).not.toContain('client_secret');

    const gh = await startGatehouse({ store: { kind: 'nedb' }, dataDir, masterKey: (await readFile(join(dataDir, 'master.key'), 'utf8')).trim() });
    try {
      const config = await client.discovery(new URL(gh.issuer('acme')), 'key-bot', undefined, client.PrivateKeyJwt({ key: privateKey, kid: 'bot-1' }), { execute: [client.allowInsecureRequests] });
      expect((await client.clientCredentialsGrant(config, {})).access_token).toBeTruthy();
      const stored = await gh.app.clients.get('acme', 'key-bot');
      expect(stored?.metadata).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', service_account: true });
      expect(stored?.confidential).toBe(false);
    } finally {
      await gh.stop();
    }
  }, 60_000);
});
