import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningCertificate, type GeneratedCertificate } from '../../src/domain/x509.js';
import { readPostMessage } from '../../src/saml/post-binding.js';
import { MAX_MESSAGE_BYTES, readRedirectQuery, redirectSignatureValid, signatureAlgorithmUris } from '../../src/saml/redirect-binding.js';

const request = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r1" Version="2.0" IssueInstant="2026-12-07T10:00:00Z"/>';
const encode = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));

let dir: string;
let sp: GeneratedCertificate;
let other: GeneratedCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-redirect-'));
  const make = () => generateSigningCertificate({ commonName: 'sp', modulusLength: 2048, validityDays: 30, now: new Date() });
  [sp, other] = await Promise.all([make(), make()]);
  writeFileSync(join(dir, 'sp.pem'), sp.privateKeyPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Signs the octets with openssl, not with the code under test, and appends the signature. */
function signedQuery(unsigned: string, digest = 'sha256'): string {
  writeFileSync(join(dir, 'octets'), unsigned);
  const signature = execFileSync('openssl', ['dgst', `-${digest}`, '-sign', join(dir, 'sp.pem'), join(dir, 'octets')]);
  return `${unsigned}&Signature=${encodeURIComponent(signature.toString('base64'))}`;
}

const sigAlg = (name: keyof typeof signatureAlgorithmUris) => `SigAlg=${encodeURIComponent(signatureAlgorithmUris[name].uri)}`;

describe('HTTP-Redirect binding: reading', () => {
  it('inflates the message and decodes RelayState', () => {
    const message = readRedirectQuery(`SAMLRequest=${encode(request)}&RelayState=%2Fhome%3Fx%3D1&unrelated=1`);
    expect(message).toMatchObject({ kind: 'SAMLRequest', xml: request, relayState: '/home?x=1' });
    expect(message.signature).toBeUndefined();
  });

  it('stops a deflate bomb at the cap, in bounded memory', () => {
    const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(60_000);
    expect(() => readRedirectQuery(`SAMLRequest=${encodeURIComponent(bomb.subarray(0, 12_000).toString('base64'))}`)).toThrow(`inflates to more than ${MAX_MESSAGE_BYTES} bytes`);
  });

  it('refuses repeated, missing, oversized and malformed parameters', () => {
    const ok = encode(request);
    expect(() => readRedirectQuery(`SAMLRequest=${ok}&SAMLRequest=${ok}`)).toThrow('more than once');
    expect(() => readRedirectQuery(`SAMLRequest=${ok}&RelayState=a&RelayState=b`)).toThrow('more than once');
    expect(() => readRedirectQuery('RelayState=x')).toThrow('no SAMLRequest');
    expect(() => readRedirectQuery(`SAMLRequest=${ok}&SAMLResponse=${ok}`)).toThrow('cannot both');
    expect(() => readRedirectQuery(`SAMLRequest=${'A'.repeat(20_000)}`)).toThrow('longer than');
    expect(() => readRedirectQuery('SAMLRequest=%E0%A4%A')).toThrow('URL-encoded');
    expect(() => readRedirectQuery('SAMLRequest=not*base64')).toThrow('not base64');
    expect(() => readRedirectQuery(`SAMLRequest=${encodeURIComponent(Buffer.from(request).toString('base64'))}`)).toThrow('DEFLATE');
    expect(() => readRedirectQuery(`SAMLRequest=${ok}&SAMLEncoding=urn%3Aother`)).toThrow('SAMLEncoding');
    expect(() => readRedirectQuery(`SAMLRequest=${ok}&RelayState=${'x'.repeat(81)}`)).toThrow('80 bytes');
    expect(() => readRedirectQuery(`SAMLRequest=${ok}&Signature=AAAA`)).toThrow('without SigAlg');
  });
});

describe('HTTP-Redirect binding: signatures over the query as received', () => {
  it('accepts a signature made by openssl with the SP’s key, over the bytes as sent', () => {
    const message = readRedirectQuery(signedQuery(`SAMLRequest=${encode(request)}&RelayState=abc&${sigAlg('rsa-sha256')}`));
    expect(redirectSignatureValid(message, [other.certificate, sp.certificate], ['rsa-sha256'])).toBe(true);
    expect(redirectSignatureValid(message, [other.certificate], ['rsa-sha256'])).toBe(false);
  });

  it('verifies the octets exactly as encoded by the sender (lower-case escapes), not re-encoded', () => {
    const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    const unsigned = lower(`SAMLRequest=${encode(request)}&RelayState=%2Fa%20b&${sigAlg('rsa-sha256')}`);
    const message = readRedirectQuery(signedQuery(unsigned));
    expect(message.relayState).toBe('/a b');
    expect(redirectSignatureValid(message, [sp.certificate], ['rsa-sha256'])).toBe(true);
  });

  it('takes the parameters in the order the binding defines, whatever order the query has', () => {
    const unsigned = `SAMLRequest=${encode(request)}&RelayState=abc&${sigAlg('rsa-sha256')}`;
    const signature = new URLSearchParams(signedQuery(unsigned)).get('Signature')!;
    const reordered = `${sigAlg('rsa-sha256')}&Signature=${encodeURIComponent(signature)}&RelayState=abc&SAMLRequest=${encode(request)}`;
    expect(redirectSignatureValid(readRedirectQuery(reordered), [sp.certificate], ['rsa-sha256'])).toBe(true);
  });

  it('fails when anything signed changed: the message, RelayState, SigAlg, or RelayState dropped', () => {
    const unsigned = `SAMLRequest=${encode(request)}&RelayState=abc&${sigAlg('rsa-sha256')}`;
    const signature = new URLSearchParams(signedQuery(unsigned)).get('Signature')!;
    const variants = [
      `SAMLRequest=${encode(request.replace('_r1', '_r2'))}&RelayState=abc&${sigAlg('rsa-sha256')}`,
      `SAMLRequest=${encode(request)}&RelayState=abd&${sigAlg('rsa-sha256')}`,
      `SAMLRequest=${encode(request)}&${sigAlg('rsa-sha256')}`,
      `SAMLRequest=${encode(request)}&RelayState=abc&${sigAlg('rsa-sha512')}`,
    ];
    for (const variant of variants) {
      const message = readRedirectQuery(`${variant}&Signature=${encodeURIComponent(signature)}`);
      expect(redirectSignatureValid(message, [sp.certificate], ['rsa-sha256', 'rsa-sha512']), variant).toBe(false);
    }
  });

  it('refuses an algorithm the app does not allow, SHA-1 included, and an unsigned message is not valid', () => {
    const sha1 = readRedirectQuery(signedQuery(`SAMLRequest=${encode(request)}&${sigAlg('rsa-sha1')}`, 'sha1'));
    expect(() => redirectSignatureValid(sha1, [sp.certificate], ['rsa-sha256'])).toThrow('not allowed');
    expect(redirectSignatureValid(sha1, [sp.certificate], ['rsa-sha256', 'rsa-sha1'])).toBe(true);
    expect(redirectSignatureValid(readRedirectQuery(`SAMLRequest=${encode(request)}`), [sp.certificate], ['rsa-sha256'])).toBe(false);
  });
});

describe('HTTP-POST binding: reading', () => {
  it('decodes wrapped base64 and refuses what is too large or not base64', () => {
    const wrapped = Buffer.from(request).toString('base64').replace(/(.{76})/g, '$1\r\n');
    expect(readPostMessage(wrapped, 'SAMLRequest')).toBe(request);
    expect(() => readPostMessage('A'.repeat(100_000), 'SAMLRequest')).toThrow('longer than');
    expect(() => readPostMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 10, 0x20).toString('base64'), 'SAMLResponse')).toThrow('larger than');
    expect(() => readPostMessage('<xml/>', 'SAMLRequest')).toThrow('not base64');
  });
});
