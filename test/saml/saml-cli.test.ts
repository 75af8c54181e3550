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

  it('pins an app to a published certificate and back (saml-app signing-certificate), refusing bad kids', async () => {
    const created = await run(['saml-app', 'create', '--tenant', 'acme', '--entity-id', 'urn:example:pinned', '--acs-url', 'https://pinned.example/acs'], env);
    expect(created.status, created.stderr).toBe(0);
    const appId = /^id: (\S+)$/m.exec(created.stdout)![1]!;
    const shown = await run(['saml-app', 'signing-certificate', '--tenant', 'acme', '--app', appId], env);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^pinned: false\nkid: [0-9a-f-]{36}\nstate: active\nfingerprint_sha256: \S+\n$/);
    const activeKid = /^kid: (\S+)$/m.exec(shown.stdout)![1]!;

    const pinned = await run(['saml-app', 'signing-certificate', '--tenant', 'acme', '--app', appId, '--kid', activeKid], env);
    expect(pinned.status, pinned.stderr).toBe(0);
    expect(pinned.stdout).toContain(`pinned: true\nkid: ${activeKid}\n`);
    const unpinned = await run(['saml-app', 'signing-certificate', '--tenant', 'acme', '--app', appId, '--follow-tenant'], env);
    expect(unpinned.status, unpinned.stderr).toBe(0);
    expect(unpinned.stdout).toContain('pinned: false\n');

    const cases: Array<[string[], string]> = [
      [['--kid', 'not-a-uuid'], 'not a certificate id'],
      [['--kid', '00000000-0000-4000-8000-000000000000'], 'no SAML certificate'],
      [['--kid', activeKid, '--follow-tenant'], 'not both'],
      [['--app', 'sp_AAAAAAAAAAAAAAAA'], 'no SAML app'],
      [['--app', 'sp_AAAAAAAAAAAAAAAA', '--kid', activeKid], 'no SAML app'],
    ];
    for (const [extra, problem] of cases) {
      const args = ['saml-app', 'signing-certificate', '--tenant', 'acme', '--app', appId, ...extra];
      const result = await run(args, env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(problem);
    }
  }, 120_000);
});
