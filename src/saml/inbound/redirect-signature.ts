import { createPublicKey, verify } from 'node:crypto';
import { signatureHash } from './algorithms.js';
import type { EncodedMessage } from './bindings.js';
import { SamlMessageError } from './errors.js';

/**
 * The HTTP-Redirect binding's detached signature (SAML Bindings 3.4.4.1), checked over the bytes
 * the sender signed: the raw `SAMLRequest`/`SAMLResponse`, `RelayState` and `SigAlg` parameters as
 * they arrived, never as re-encoded here (senders differ in how they percent-encode). Any one of the
 * SP's registered certificates may have made it (rollover).
 */
export function verifyRedirectSignature(detached: NonNullable<EncodedMessage['detached']>, certificates: readonly string[], allowSha1: boolean): void {
  const hash = signatureHash(detached.sigAlg, allowSha1);
  const data = Buffer.from(detached.signedBytes, 'utf8');
  const valid = certificates.some((certificate) => {
    try {
      return verify(hash, data, createPublicKey(certificate), detached.signature);
    } catch {
      return false;
    }
  });
  if (!valid) throw new SamlMessageError('bad_signature', 'the signature does not verify with any of the app’s signing certificates');
}
