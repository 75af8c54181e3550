import { verify, X509Certificate } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import type { SignatureAlgorithm } from '../domain/saml-apps.js';

/**
 * The HTTP-Redirect binding's inbound half (SAML Bindings 3.4): reading `SAMLRequest` or
 * `SAMLResponse` from a query string within bounded memory, and checking its signature over the
 * query string exactly as received. Nothing here trusts the message yet: SSO and SLO parse the XML
 * with `xml.ts` and decide what to believe.
 */

/** A message is refused; the text is safe to show (it says what, never echoes the input). */
export class BindingInputError extends Error {
  override readonly name = 'BindingInputError';
}

/** An AuthnRequest or LogoutRequest is a few KB; what inflates beyond this is refused as it inflates. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** The encoded parameter is capped before decoding; browsers and proxies cap URLs near this anyway. */
export const MAX_ENCODED_CHARS = 16 * 1024;

/** SAML Bindings 3.4.3: RelayState MUST NOT exceed 80 bytes. */
const MAX_RELAY_STATE_BYTES = 80;

const DEFLATE = 'urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE';

/** XML-DSig algorithm URIs of the signature algorithms an app may be set to. */
export const signatureAlgorithmUris: Record<SignatureAlgorithm, { uri: string; hash: string }> = {
  'rsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', hash: 'sha256' },
  'rsa-sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', hash: 'sha384' },
  'rsa-sha512': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', hash: 'sha512' },
  'rsa-sha1': { uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', hash: 'sha1' },
};

const parameterNames = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature', 'SAMLEncoding'] as const;
type ParameterName = (typeof parameterNames)[number];

export interface RedirectMessage {
  kind: 'SAMLRequest' | 'SAMLResponse';
  /** the inflated message, not yet parsed */
  xml: string;
  relayState?: string;
  /** present when the query carries `Signature` (and then `SigAlg`) */
  signature?: { algorithm: string; signedOctets: Buffer; value: Buffer };
}

/** `application/x-www-form-urlencoded` decoding of one value; malformed escapes are refused. */
function formDecode(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new BindingInputError(`${name} is not URL-encoded correctly`);
  }
}

/** Strict base64 (line breaks and spaces allowed, as senders wrap it). */
export function base64Bytes(text: string, name: string): Buffer {
  const compact = text.replace(/[\r\n ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw new BindingInputError(`${name} is not base64`);
  return Buffer.from(compact, 'base64');
}

/**
 * Reads a Redirect-binding query string (the part after `?`, exactly as received). Each SAML
 * parameter may appear once: a repeated one is refused rather than one of them chosen, since the
 * signature check and the message reader must see the same values.
 */
export function readRedirectQuery(rawQuery: string): RedirectMessage {
  const raw = new Map<ParameterName, string>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = formDecode(at === -1 ? pair : pair.slice(0, at), 'a parameter name');
    if (!(parameterNames as readonly string[]).includes(name)) continue;
    if (raw.has(name as ParameterName)) throw new BindingInputError(`${name} appears more than once`);
    raw.set(name as ParameterName, at === -1 ? '' : pair.slice(at + 1));
  }
  const kinds = (['SAMLRequest', 'SAMLResponse'] as const).filter((kind) => raw.has(kind));
  if (kinds.length !== 1) throw new BindingInputError(kinds.length ? 'SAMLRequest and SAMLResponse cannot both be sent' : 'there is no SAMLRequest or SAMLResponse');
  const kind = kinds[0]!;
  const encoding = raw.get('SAMLEncoding');
  if (encoding !== undefined && formDecode(encoding, 'SAMLEncoding') !== DEFLATE) throw new BindingInputError('SAMLEncoding must be DEFLATE (SAML Bindings 3.4.4.1)');
  const encoded = raw.get(kind)!;
  if (encoded.length > MAX_ENCODED_CHARS) throw new BindingInputError(`${kind} is longer than ${MAX_ENCODED_CHARS} characters`);
  const message: RedirectMessage = { kind, xml: inflateBounded(base64Bytes(formDecode(encoded, kind), kind), kind) };
  const relayState = raw.get('RelayState');
  if (relayState !== undefined) {
    message.relayState = formDecode(relayState, 'RelayState');
    if (Buffer.byteLength(message.relayState) > MAX_RELAY_STATE_BYTES) throw new BindingInputError(`RelayState is longer than ${MAX_RELAY_STATE_BYTES} bytes (SAML Bindings 3.4.3)`);
  }
  const signature = raw.get('Signature');
  const sigAlg = raw.get('SigAlg');
  if (signature !== undefined) {
    if (sigAlg === undefined) throw new BindingInputError('Signature comes without SigAlg');
    // SAML Bindings 3.4.4.1: the signed octets are these parameters in this order, with their
    // values as they were URL-encoded by the sender; re-encoding them could change the bytes.
    const octets = [`${kind}=${encoded}`, ...(relayState !== undefined ? [`RelayState=${relayState}`] : []), `SigAlg=${sigAlg}`].join('&');
    message.signature = { algorithm: formDecode(sigAlg, 'SigAlg'), signedOctets: Buffer.from(octets, 'utf8'), value: base64Bytes(formDecode(signature, 'Signature'), 'Signature') };
  }
  return message;
}

/** DEFLATE without zlib header, stopped at {@link MAX_MESSAGE_BYTES} of output: a deflate bomb costs no more. */
function inflateBounded(compressed: Buffer, name: string): string {
  try {
    return inflateRawSync(compressed, { maxOutputLength: MAX_MESSAGE_BYTES }).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw new BindingInputError(`${name} inflates to more than ${MAX_MESSAGE_BYTES} bytes`);
    throw new BindingInputError(`${name} is not DEFLATE-compressed`);
  }
}

/**
 * Whether a Redirect message's signature was made by the key of one of `certificates` (base64
 * DER), with an algorithm the app allows. An algorithm outside `allowed` is an error, not a false:
 * the SP is misconfigured or someone is probing, and either way the message is refused.
 */
export function redirectSignatureValid(message: RedirectMessage, certificates: readonly string[], allowed: readonly SignatureAlgorithm[]): boolean {
  if (!message.signature) return false;
  const { algorithm, signedOctets, value } = message.signature;
  const known = allowed.map((name) => signatureAlgorithmUris[name]).find((entry) => entry.uri === algorithm);
  if (!known) throw new BindingInputError(`SigAlg ${algorithm.slice(0, 100)} is not allowed for this app`);
  return certificates.some((certificate) => {
    return verify(known.hash, signedOctets, new X509Certificate(Buffer.from(certificate, 'base64')).publicKey, value);
  });
}
