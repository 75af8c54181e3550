import { schemaProblems, type SchemaFiles } from '../schema.js';
import { parseUntrustedXml, textOf, XmlInputError, type XmlElement } from '../xml.js';
import { MAX_MESSAGE_BYTES, type EncodedMessage } from './bindings.js';
import { SamlMessageError } from './errors.js';
import { DSIG, verifiedRoot } from './post-signature.js';
import { verifyRedirectSignature } from './redirect-signature.js';

export const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

/** What Gatehouse trusts of a registered SP when it reads the SP's messages. */
export interface SpTrust {
  entityId: string;
  /** PEM certificates any of which may sign the SP's messages */
  certificates: readonly string[];
  requireSignedRequests: boolean;
  allowSha1: boolean;
  /** how far the SP's clock may be from ours, in seconds */
  clockSkewSeconds: number;
}

export interface InboundContext<Sp extends SpTrust> {
  /** the endpoint URL the message must name as its `Destination` (ours, from the public URL) */
  destination: string;
  nowMs: number;
  schema: SchemaFiles;
  /** the registered SP with this entity ID in this tenant, or undefined */
  findSp(entityId: string): Promise<Sp | undefined>;
  /** remembers `id` of `issuer` for `ttlSeconds`; answers false when it was remembered already (a replay) */
  remember(issuer: string, id: string, ttlSeconds: number): Promise<boolean>;
}

/** A message read from what its signature covers (or, unsigned, from itself): its SP and its root element. */
export interface InboundMessage<Sp extends SpTrust> {
  sp: Sp;
  root: XmlElement;
  id: string;
  issueInstant: Date;
  destination?: string;
  signed: boolean;
  relayState?: string;
  binding: EncodedMessage['binding'];
}

/** Beyond the SP's clock skew, how old a message may be: the few minutes a person takes between SP and IdP. */
export const MESSAGE_WINDOW_SECONDS = 5 * 60;

const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** xs:ID is an NCName: what a request ID may look like (and a bound on its length). */
const ncName = /^[A-Za-z_][A-Za-z0-9._-]{0,255}$/;

function issuerOf(root: XmlElement): string | undefined {
  let issuer: string | undefined;
  for (let node = root.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as XmlElement).namespaceURI === SAML && (node as XmlElement).localName === 'Issuer') {
      if (issuer !== undefined) return undefined;
      issuer = textOf(node as XmlElement);
    }
  }
  return issuer;
}

function containsSignature(root: XmlElement): boolean {
  const walk = (element: XmlElement): boolean => {
    for (let node = element.firstChild; node; node = node.nextSibling) {
      if (node.nodeType !== 1) continue;
      const child = node as XmlElement;
      if ((child.namespaceURI === DSIG && child.localName === 'Signature') || walk(child)) return true;
    }
    return false;
  };
  return walk(root);
}

/**
 * Reads a SAML protocol message of a registered SP, in this order, each step refusing with a
 * {@link SamlMessageError}: parse without DOCTYPE or entities within a size bound; validate against
 * the SAML protocol schema; check it is the message expected here; find its SP by `Issuer` (in this
 * tenant); check the signature (HTTP-Redirect: the detached one over the query's raw bytes;
 * HTTP-POST: the enveloped one, with the wrapping rules) or refuse an unsigned message the SP must
 * sign; then read ID, `IssueInstant`, `Destination` and `Issuer` again from the signed content
 * only; accept `IssueInstant` only within the SP's clock skew plus {@link MESSAGE_WINDOW_SECONDS};
 * and remember the ID for that window so the same message is not accepted twice.
 */
export async function readInbound<Sp extends SpTrust>(encoded: EncodedMessage, expected: 'AuthnRequest' | 'LogoutRequest' | 'LogoutResponse', context: InboundContext<Sp>): Promise<InboundMessage<Sp>> {
  let root: XmlElement;
  try {
    root = parseUntrustedXml(encoded.xml, MAX_MESSAGE_BYTES).documentElement;
  } catch (error) {
    if (error instanceof XmlInputError) throw new SamlMessageError('malformed', `the message ${error.message}`);
    throw error;
  }
  const problems = await schemaProblems(encoded.xml, context.schema);
  if (problems.length) throw new SamlMessageError('not_schema_valid', `the message is not valid SAML 2.0 (${problems[0]!.slice(0, 200)})`);
  if (root.namespaceURI !== SAMLP || root.localName !== expected) throw new SamlMessageError('unexpected_message', `expected a ${expected}, got ${root.localName.slice(0, 64)}`);

  // The Issuer picks the keys to check with; it is read again below from the signed content.
  const claimed = issuerOf(root);
  if (!claimed) throw new SamlMessageError('unknown_issuer', 'the message names no Issuer (or more than one)');
  const sp = await context.findSp(claimed);
  if (!sp) throw new SamlMessageError('unknown_issuer', 'the message’s Issuer is not an app registered with this organisation');

  let trusted = root;
  let signed = false;
  if (encoded.binding === 'redirect') {
    // SAML Bindings 3.4.4.1: the XML signature is removed before a message is sent this way.
    if (containsSignature(root)) throw new SamlMessageError('signature_wrapping', 'a message sent over HTTP-Redirect must not carry an XML signature');
    if (encoded.detached) {
      verifyRedirectSignature(encoded.detached, sp.certificates, sp.allowSha1);
      signed = true;
    }
  } else if (containsSignature(root)) {
    trusted = verifiedRoot(encoded.xml, root, sp.certificates, sp.allowSha1, MAX_MESSAGE_BYTES);
    signed = true;
  }
  // LogoutRequests over a front-channel binding are always signed, whatever the SP's setting.
  if (!signed && (sp.requireSignedRequests || expected !== 'AuthnRequest')) throw new SamlMessageError('signature_required', `this app must sign its ${expected}s`);

  if (trusted.namespaceURI !== SAMLP || trusted.localName !== expected) throw new SamlMessageError('signature_wrapping', 'the signed element is not the message');
  if (issuerOf(trusted) !== sp.entityId) throw new SamlMessageError('signature_wrapping', 'the signed Issuer is not the app that signed it');
  const id = trusted.getAttribute('ID') ?? '';
  if (!ncName.test(id)) throw new SamlMessageError('malformed', 'the message’s ID is missing or not an XML ID');
  if (trusted.getAttribute('Version') !== '2.0') throw new SamlMessageError('malformed', 'only SAML 2.0 messages are accepted');
  const instant = trusted.getAttribute('IssueInstant') ?? '';
  if (!dateTime.test(instant) || Number.isNaN(Date.parse(instant))) throw new SamlMessageError('malformed', 'the message’s IssueInstant is not a date and time');
  // xmldom answers '' for an absent attribute.
  const destination = trusted.getAttribute('Destination') || undefined;
  // Bindings 3.4.5.2 / 3.5.5.2: a signed message names where it was sent; any message that names
  // somewhere else was meant for someone else.
  if (destination !== undefined ? destination !== context.destination : signed) {
    throw new SamlMessageError('wrong_destination', `the message must name ${context.destination} as its Destination`);
  }
  const issued = Date.parse(instant);
  const skewMs = sp.clockSkewSeconds * 1000;
  if (issued - context.nowMs > skewMs || context.nowMs - issued > skewMs + MESSAGE_WINDOW_SECONDS * 1000) {
    throw new SamlMessageError('stale', 'the message was issued too long ago (or in the future): check the app’s clock and send it again');
  }
  if (!(await context.remember(sp.entityId, id, sp.clockSkewSeconds * 2 + MESSAGE_WINDOW_SECONDS))) {
    throw new SamlMessageError('replayed', 'this message was received before; the app must send a new one');
  }
  return {
    sp,
    root: trusted,
    id,
    issueInstant: new Date(issued),
    ...(destination !== undefined ? { destination } : {}),
    signed,
    ...(encoded.relayState !== undefined ? { relayState: encoded.relayState } : {}),
    binding: encoded.binding,
  };
}
