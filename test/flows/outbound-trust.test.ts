/**
 * `http.outboundCaFile`: the provider's outbound calls trust a private CA besides the system's,
 * through dispatchers of ours that keep the SSRF guard and certificate verification. Real HTTPS
 * calls to a local endpoint; the ping flow that uses it is in ciba-ping.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundFetch, type OutboundPolicy } from '../../src/oidc/outbound.js';
import { outboundTrustOf, readCaCertificates } from '../../src/oidc/outbound-trust.js';
import { startGatehouse } from '../helpers/gatehouse.js';
import { startPingReceiver, type PingReceiver } from '../helpers/ping-receiver.js';
import { makeCertificates } from '../helpers/test-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-outbound-ca-'));
const haveCertificates = makeCertificates(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const logger = pino({ level: 'silent' });

describe.skipIf(!haveCertificates)('outbound calls with http.outboundCaFile', () => {
  let receiver: PingReceiver;
  let trust: NonNullable<ReturnType<typeof outboundTrustOf>>;
  const url = () => `https://127.0.0.1:${receiver.port}/notify`;
  const post = (policy: OutboundPolicy) => outboundFetch(policy, logger)(url(), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });

  beforeAll(async () => {
    receiver = await startPingReceiver(dir);
    trust = outboundTrustOf(join(dir, 'ca.pem'))!;
  });
  afterAll(async () => {
    await trust?.close();
    await receiver?.close();
  });

  it('reaches an endpoint the private CA certified, where the guard lets it through', async () => {
    const answer = await post({ allowPrivateNetwork: true, allowLoopback: false, trust });
    expect(answer.status).toBe(204);
    expect(receiver.received.at(-1)?.path).toBe('/notify');
  });

  it('keeps the SSRF guard: a special-use address is refused on the connected socket, with the setting named', async () => {
    const before = receiver.received.length;
    await expect(post({ allowPrivateNetwork: false, allowLoopback: false, trust })).rejects.toThrow(/refused to call https:\/\/127\.0\.0\.1.*http\.allowPrivateNetworkFetch/);
    // Development's loopback allowance is by name: the literal 127.0.0.1 is loopback, so it is let through.
    expect((await post({ allowPrivateNetwork: false, allowLoopback: true, trust })).status).toBe(204);
    expect(receiver.received).toHaveLength(before + 1);
  });

  it('still verifies certificates: without the file the same call fails, and another CA does not help', async () => {
    await expect(post({ allowPrivateNetwork: true, allowLoopback: false })).rejects.toThrow();
    const otherDir = mkdtempSync(join(tmpdir(), 'gatehouse-other-ca-'));
    try {
      expect(makeCertificates(otherDir)).toBe(true);
      const other = outboundTrustOf(join(otherDir, 'ca.pem'))!;
      try {
        await expect(post({ allowPrivateNetwork: true, allowLoopback: false, trust: other })).rejects.toMatchObject({ cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
      } finally {
        await other.close();
      }
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveCertificates)('a bad http.outboundCaFile', () => {
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('is refused with the setting and the reason: missing, no certificate, a private key, a certificate that does not parse', () => {
    expect(readCaCertificates(join(dir, 'ca.pem'))).toHaveLength(1);
    const bundle = write('bundle.pem', `${readFileSync(join(dir, 'ca.pem'), 'utf8')}\n${readFileSync(join(dir, 'server.pem'), 'utf8')}`);
    expect(readCaCertificates(bundle)).toHaveLength(2);
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'absent.pem'), /http\.outboundCaFile: cannot read .*ENOENT/],
      [write('empty.pem', 'not a certificate\n'), /holds no PEM certificate/],
      [join(dir, 'server.key'), /contains a private key/],
      [write('with-key.pem', `${readFileSync(join(dir, 'ca.pem'), 'utf8')}${readFileSync(join(dir, 'ca.key'), 'utf8')}`), /contains a private key/],
      [write('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /does not parse/],
    ];
    for (const [path, message] of cases) expect(() => readCaCertificates(path), path).toThrow(message);
  });

  it('stops the start, naming the setting', async () => {
    await expect(startGatehouse({ http: { outboundCaFile: join(dir, 'absent.pem') } })).rejects.toThrow(/http\.outboundCaFile/);
  });
});
