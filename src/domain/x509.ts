// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill
// loaded first; ES modules evaluate their imports in order, so this line must stay above it.
import 'reflect-metadata';
import { KeyObject, X509Certificate, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** RSA sizes a generated SAML signing key may have; 2048 is what every SP accepts. */
export const rsaModulusLengths = [2048, 3072, 4096] as const;
export type RsaModulusLength = (typeof rsaModulusLengths)[number];

/** The smallest RSA key accepted in a certificate an SP registers (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

/** A PEM or base64 certificate is at most this long (a 4096-bit RSA certificate is about 2 KB). */
export const MAX_CERTIFICATE_CHARS = 16 * 1024;

export interface GeneratedCertificate {
  /** base64 DER, as SAML metadata's `ds:X509Certificate` carries it */
  certificate: string;
  /** PKCS #8 PEM of the private key: seal it before storing */
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, upper-case hex with colons (as `openssl x509 -fingerprint` prints it) */
  fingerprint: string;
}

/**
 * A new RSA key with a self-signed certificate for signing SAML messages. The certificate only
 * carries the public key to the SP (XML signatures are checked against the pasted or published
 * certificate, not a chain), so it is self-signed and long-lived; rotation is explicit.
 */
export async function generateSigningCertificate(options: { commonName: string; modulusLength: RsaModulusLength; validityDays: number; now: Date }): Promise<GeneratedCertificate> {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: options.modulusLength };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  // A little before now, so an SP whose clock is behind does not see a certificate from the future.
  const notBefore = new Date(options.now.getTime() - 60_000);
  const notAfter = new Date(options.now.getTime() + options.validityDays * 86_400_000);
  // A positive 128-bit serial (RFC 5280 4.1.2.2: at most 20 octets, positive).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: [{ CN: [options.commonName] }],
      notBefore,
      notAfter,
      signingAlgorithm: algorithm,
      keys,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    },
    // Passed per call, so no library-global crypto provider is set.
    webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1],
  );
  const certificate = Buffer.from(cert.rawData).toString('base64');
  const privateKeyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certificate, privateKeyPem, notBefore, notAfter, fingerprint: new X509Certificate(Buffer.from(certificate, 'base64')).fingerprint256 };
}

export interface ParsedCertificate {
  /** normalised: base64 DER without line breaks */
  certificate: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  rsaBits: number;
}

export type CertificateProblem = { error: string } | { certificate: ParsedCertificate; warning?: string };

/**
 * Reads a certificate an SP registers: PEM (`-----BEGIN CERTIFICATE-----`) or bare base64 DER as
 * metadata carries it. It must hold an RSA key of at least {@link MIN_RSA_BITS} bits (SAML's
 * signature and key-transport algorithms here are RSA). Validity dates give a warning, not an
 * error: XML signatures are checked against the registered key, not a chain, and many SPs publish
 * long-expired self-signed certificates that still work.
 */
export function readCertificate(text: string, now: Date): CertificateProblem {
  if (text.length > MAX_CERTIFICATE_CHARS) return { error: `is longer than ${MAX_CERTIFICATE_CHARS} characters` };
  const pem = /^\s*-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----\s*$/.exec(text);
  const base64 = (pem ? pem[1]! : text).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return { error: 'is not a PEM certificate or base64 DER' };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    return { error: 'is not a readable X.509 certificate' };
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== 'rsa') return { error: `holds a ${key.asymmetricKeyType ?? 'non-RSA'} key; SAML apps here use RSA keys` };
  const rsaBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (rsaBits < MIN_RSA_BITS) return { error: `holds a ${rsaBits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required` };
  const parsed: ParsedCertificate = {
    certificate: Buffer.from(cert.raw).toString('base64'),
    subject: cert.subject.replace(/\n/g, ', '),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprint: cert.fingerprint256,
    rsaBits,
  };
  if (parsed.notAfter.getTime() < now.getTime()) return { certificate: parsed, warning: `expired on ${parsed.notAfter.toISOString()} (accepted: SAML checks the key, not the dates; ask the SP for a new one)` };
  if (parsed.notBefore.getTime() > now.getTime()) return { certificate: parsed, warning: `is valid only from ${parsed.notBefore.toISOString()}` };
  return { certificate: parsed };
}

/** The PEM form of a base64 DER certificate (for samlify and for people). */
export function certificatePem(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
