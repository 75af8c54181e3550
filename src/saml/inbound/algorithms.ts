import { SamlMessageError } from './errors.js';

/** XML-DSig signature algorithms Gatehouse accepts, and the hash each uses. SHA-1 only where an SP is allowed it. */
const signatureHashes: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': 'sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1': 'sha1',
};

const digestHashes: Record<string, 'sha1' | 'sha256' | 'sha512'> = {
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
};

/** The hash of a signature algorithm URI, or a refusal naming it (SHA-1 unless `allowSha1`). */
export function signatureHash(algorithm: string, allowSha1: boolean): 'sha1' | 'sha256' | 'sha384' | 'sha512' {
  const hash = Object.hasOwn(signatureHashes, algorithm) ? signatureHashes[algorithm] : undefined;
  if (!hash) throw new SamlMessageError('unsupported_algorithm', `the signature algorithm ${algorithm.slice(0, 100)} is not supported (use RSA-SHA256)`);
  if (hash === 'sha1' && !allowSha1) throw new SamlMessageError('unsupported_algorithm', 'RSA-SHA1 signatures are refused for this app (use RSA-SHA256, or allow SHA-1 for it explicitly)');
  return hash;
}

/** Checks a digest algorithm URI the same way. */
export function checkDigest(algorithm: string, allowSha1: boolean): void {
  const hash = Object.hasOwn(digestHashes, algorithm) ? digestHashes[algorithm] : undefined;
  if (!hash) throw new SamlMessageError('unsupported_algorithm', `the digest algorithm ${algorithm.slice(0, 100)} is not supported (use SHA-256)`);
  if (hash === 'sha1' && !allowSha1) throw new SamlMessageError('unsupported_algorithm', 'SHA-1 digests are refused for this app (use SHA-256, or allow SHA-1 for it explicitly)');
}
