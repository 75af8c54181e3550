import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsync as run } from '../helpers/cli.js';
import { spCertificate, spMetadata } from './helpers.js';

describe('gatehouse saml-app', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-saml-'));
    env = { NODE_ENV: 'development', GATEHOUSE_DATA_DIR: dir, GATEHOUSE_DEMO_SEED: 'false' };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('registers apps from metadata and from fields, lists them, and refuses what the admin API refuses', async () => {
    expect((await run(['tenant', 'create', '--id', 'acme', '--name', 'Acme'], env)).status).toBe(0);
    await writeFile(join(dir, 'sp.xml'), spMetadata({ entityId: 'https://hr.example/sp', signingCert: await spCertificate() }));
    const fromFile = await run(['saml-app', 'create', '--tenant', 'acme', '--metadata-file', join(dir, 'sp.xml'), '--name', 'HR', '--all-users'], env);
    expect(fromFile.stderr).not.toContain('warning:');
    expect(fromFile.status).toBe(0);
    expect(fromFile.stdout).toMatch(/^id: sp_[A-Za-z0-9_-]{16}\nentity_id: https:\/\/hr\.example\/sp\n$/);
    const fromFields = await run(['saml-app', 'create', '--tenant', 'acme', '--entity-id', 'urn:example:wiki', '--acs-url', 'https://wiki.example/acs'], env);
    expect(fromFields.status, fromFields.stderr).toBe(0);

    const listed = await run(['saml-app', 'list', '--tenant', 'acme'], env);
    expect(listed.stdout.trim().split('\n').map((line) => line.split('\t').slice(1))).toEqual(expect.arrayContaining([['https://hr.example/sp', 'HR'], ['urn:example:wiki', 'urn:example:wiki']]));

    await writeFile(join(dir, 'hostile.xml'), spMetadata({ entityId: 'https://evil.example/sp', prolog: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' }));
    const cases: Array<[string[], string]> = [
      [['saml-app', 'create', '--tenant', 'acme', '--metadata-file', join(dir, 'sp.xml')], '"entity_id": another SAML app'],
      [['saml-app', 'create', '--tenant', 'acme', '--metadata-file', join(dir, 'hostile.xml')], 'DOCTYPE'],
      [['saml-app', 'create', '--tenant', 'acme', '--metadata-file', join(dir, 'missing.xml')], 'cannot read'],
      [['saml-app', 'create', '--tenant', 'acme', '--entity-id', 'urn:example:x'], 'give --metadata-file'],
      [['saml-app', 'create', '--tenant', 'acme', '--entity-id', 'urn:example:x', '--acs-url', 'http://x.example/acs'], '"acs_urls.0.url"'],
      [['saml-app', 'create', '--tenant', 'nope', '--entity-id', 'urn:example:x', '--acs-url', 'https://x.example/acs'], 'no tenant "nope"'],
    ];
    for (const [args, problem] of cases) {
      const result = await run(args, env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(problem);
    }
  }, 120_000);
});
