import { inflateRawSync } from 'node:zlib';
import { SamlMessageError } from './errors.js';

/** A SAML protocol message as a binding carried it, before anything in it is trusted. */
export interface EncodedMessage {
  binding: 'redirect' | 'post';
  /** `SAMLRequest` or `SAMLResponse`: which parameter carried it */
  parameter: 'SAMLRequest' | 'SAMLResponse';
  /** the message's XML, decoded (and inflated for HTTP-Redirect) */
  xml: string;
  relayState?: string;
  /** HTTP-Redirect only: the detached signature, its algorithm and the exact bytes it covers */
  detached?: { sigAlg: string; signature: Buffer; signedBytes: string };
}

/** Limits on what a binding may carry: the inflated or decoded XML, and the encoded parameter. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_ENCODED_CHARS = Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4096;
/** SAML Bindings 3.4.3 / 3.5.3: RelayState MUST NOT exceed 80 bytes. */
export const MAX_RELAY_STATE_BYTES = 80;

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(value: string, parameter: string): Buffer {
  // Line breaks and spaces are allowed (senders wrap base64); anything else is not base64.
  const compact = value.replace(/[\r\n\t ]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !base64.test(compact)) throw new SamlMessageError('not_base64', `${parameter} is not base64`);
  return Buffer.from(compact, 'base64');
}

function checkRelayState(relayState: string | undefined): string | undefined {
  if (relayState === undefined) return undefined;
  if (Buffer.byteLength(relayState, 'utf8') > MAX_RELAY_STATE_BYTES) throw new SamlMessageError('too_large', `RelayState is longer than ${MAX_RELAY_STATE_BYTES} bytes (SAML Bindings 3.4.3)`);
  return relayState;
}

function utf8(bytes: Buffer, parameter: string): string {
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return text.decode(bytes);
  } catch {
    throw new SamlMessageError('malformed', `${parameter} is not UTF-8 text`);
  }
}

/** Form-encoded query value: `+` is a space, then percent-decoding; undefined when it does not decode. */
function formDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * HTTP-Redirect (SAML Bindings 3.4): the parameters are read from the query string as it arrived,
 * each at most once (two `SAMLRequest`s or `Signature`s are refused, not one of them picked). The
 * message is inflated with a hard limit on its size, so a deflate bomb stops at
 * {@link MAX_MESSAGE_BYTES}. A signature covers the raw, still-encoded `SAMLRequest=`,
 * `RelayState=` and `SigAlg=` parameters, in that order, exactly as received (3.4.4.1): they are
 * kept here untouched for the check, whatever order the URL had them in.
 */
export function fromRedirect(rawQuery: string): EncodedMessage {
  if (rawQuery.length > MAX_ENCODED_CHARS * 2) throw new SamlMessageError('too_large', 'the query string is too long');
  const raw = new Map<string, string>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = formDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (name === undefined) throw new SamlMessageError('malformed', 'the query string does not decode');
    if (!['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature'].includes(name)) continue;
    if (raw.has(name)) throw new SamlMessageError('duplicate_parameter', `${name} appears more than once`);
    raw.set(name, pair);
  }
  const valueOf = (name: string) => {
    const pair = raw.get(name);
    if (pair === undefined) return undefined;
    const value = formDecode(pair.slice(pair.indexOf('=') + 1));
    if (value === undefined) throw new SamlMessageError('malformed', `${name} does not decode`);
    return value;
  };
  const parameter = raw.has('SAMLRequest') ? 'SAMLRequest' : raw.has('SAMLResponse') ? 'SAMLResponse' : undefined;
  if (!parameter) throw new SamlMessageError('missing', 'no SAMLRequest or SAMLResponse parameter');
  if (raw.has('SAMLRequest') && raw.has('SAMLResponse')) throw new SamlMessageError('duplicate_parameter', 'both SAMLRequest and SAMLResponse were sent');
  const encoded = valueOf(parameter)!;
  if (encoded.length > MAX_ENCODED_CHARS) throw new SamlMessageError('too_large', `${parameter} is larger than ${MAX_ENCODED_CHARS} characters`);
  // A `+` sent unencoded became a space above; in base64 it can only have been a `+`.
  const deflated = decodeBase64(encoded.replace(/ /g, '+'), parameter);
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(deflated, { maxOutputLength: MAX_MESSAGE_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new SamlMessageError('too_large', `${parameter} inflates to more than ${MAX_MESSAGE_BYTES} bytes`);
    throw new SamlMessageError('not_deflated', `${parameter} is not DEFLATE-compressed (SAML Bindings 3.4.4.1)`);
  }
  const relayState = checkRelayState(valueOf('RelayState'));
  const sigAlg = valueOf('SigAlg');
  const signature = valueOf('Signature');
  if ((sigAlg === undefined) !== (signature === undefined)) throw new SamlMessageError('bad_signature', 'SigAlg and Signature must be sent together');
  const message: EncodedMessage = { binding: 'redirect', parameter, xml: utf8(inflated, parameter), ...(relayState !== undefined ? { relayState } : {}) };
  if (sigAlg !== undefined && signature !== undefined) {
    const signedBytes = [parameter, 'RelayState', 'SigAlg'].flatMap((name) => (raw.has(name) ? [raw.get(name)!] : [])).join('&');
    message.detached = { sigAlg, signature: decodeBase64(signature.replace(/ /g, '+'), 'Signature'), signedBytes };
  }
  return message;
}

/** HTTP-POST (SAML Bindings 3.5): base64 in a form field, size-capped before decoding. */
export function fromPost(fields: Record<string, unknown>): EncodedMessage {
  const parameter = typeof fields['SAMLRequest'] === 'string' ? 'SAMLRequest' : typeof fields['SAMLResponse'] === 'string' ? 'SAMLResponse' : undefined;
  if (!parameter) {
    const repeated = Array.isArray(fields['SAMLRequest']) || Array.isArray(fields['SAMLResponse']);
    throw new SamlMessageError(repeated ? 'duplicate_parameter' : 'missing', repeated ? 'the SAML message field appears more than once' : 'no SAMLRequest or SAMLResponse field');
  }
  if (typeof fields['SAMLRequest'] === 'string' && typeof fields['SAMLResponse'] === 'string') throw new SamlMessageError('duplicate_parameter', 'both SAMLRequest and SAMLResponse were sent');
  const encoded = fields[parameter] as string;
  if (encoded.length > MAX_ENCODED_CHARS) throw new SamlMessageError('too_large', `${parameter} is larger than ${MAX_ENCODED_CHARS} characters`);
  const decoded = decodeBase64(encoded, parameter);
  if (decoded.length > MAX_MESSAGE_BYTES) throw new SamlMessageError('too_large', `${parameter} is larger than ${MAX_MESSAGE_BYTES} bytes`);
  const relay = fields['RelayState'];
  if (relay !== undefined && typeof relay !== 'string') throw new SamlMessageError('duplicate_parameter', 'RelayState appears more than once');
  const relayState = checkRelayState(relay);
  return { binding: 'post', parameter, xml: utf8(decoded, parameter), ...(relayState !== undefined ? { relayState } : {}) };
}
