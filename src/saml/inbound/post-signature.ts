import { createRequire } from 'node:module';
import { childElements, parseUntrustedXml, type XmlElement, type XmlNode } from '../xml.js';
import { checkDigest, signatureHash } from './algorithms.js';
import { SamlMessageError } from './errors.js';

export const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/** The few DOM members this module reads beyond `xml.ts`'s. */
interface Element extends XmlElement {
  readonly parentNode: XmlNode | null;
  readonly attributes: { readonly length: number; item(index: number): { readonly localName: string; readonly value: string } | null };
}

/**
 * xml-crypto, loaded without its typings (they pull TypeScript's DOM library into the program, as
 * xmldom's do: see xml.ts); only what is used is typed. The signature node is handed over as the
 * DOM node it is.
 */
interface SignedXml {
  loadSignature(signature: unknown): void;
  checkSignature(xml: string): boolean;
  getSignedReferences(): string[];
}
const { SignedXml } = createRequire(import.meta.url)('xml-crypto') as {
  SignedXml: new (options: { publicCert: string; getCertFromKeyInfo: () => null; idAttributes: string[] }) => SignedXml;
};

function elements(root: Element): Element[] {
  const found: Element[] = [];
  const walk = (node: XmlNode | null): void => {
    for (let child = node; child; child = child.nextSibling) {
      if (child.nodeType === 1) {
        found.push(child as Element);
        walk(child.firstChild);
      }
    }
  };
  found.push(root);
  walk(root.firstChild);
  return found;
}

const children = (parent: XmlElement, namespace: string, localName: string) => childElements(parent, namespace, localName) as Element[];

function only(parent: XmlElement, namespace: string, localName: string, what: string): Element {
  const found = children(parent, namespace, localName);
  if (found.length !== 1) throw new SamlMessageError('signature_wrapping', `the signature must have exactly one ${what}`);
  return found[0]!;
}

/**
 * The rules that make "what the signature covers" the whole message (the XML signature wrapping
 * defences of "On Breaking SAML"): no two elements share an ID (xml-crypto finds a reference by ID,
 * so a duplicate could point it at a different element from the one we read), exactly one
 * signature in the document, as a child of the root, with exactly one reference, to the root's ID,
 * with only the enveloped-signature and exclusive canonicalization transforms (no XPath or XSLT),
 * and algorithms we accept. Answers the signature element.
 */
function signatureOfRoot(root: Element, allowSha1: boolean): Element {
  const seen = new Set<string>();
  const all = elements(root);
  for (const element of all) {
    for (let index = 0; index < element.attributes.length; index += 1) {
      const attribute = element.attributes.item(index)!;
      if (attribute.localName !== 'ID' && attribute.localName !== 'Id' && attribute.localName !== 'id') continue;
      if (seen.has(attribute.value)) throw new SamlMessageError('signature_wrapping', 'two elements of the message have the same ID');
      seen.add(attribute.value);
    }
  }
  const signatures = all.filter((element) => element.namespaceURI === DSIG && element.localName === 'Signature');
  if (signatures.length !== 1) throw new SamlMessageError('signature_wrapping', 'the message must carry exactly one signature');
  const signature = signatures[0]!;
  if (signature.parentNode !== root) throw new SamlMessageError('signature_wrapping', 'the signature must be a child of the message’s root element');
  const id = root.getAttribute('ID');
  if (!id) throw new SamlMessageError('malformed', 'the message has no ID');
  const signedInfo = only(signature, DSIG, 'SignedInfo', 'SignedInfo');
  const canonicalization = only(signedInfo, DSIG, 'CanonicalizationMethod', 'CanonicalizationMethod').getAttribute('Algorithm');
  if (canonicalization !== EXC_C14N && canonicalization !== C14N) throw new SamlMessageError('unsupported_algorithm', 'the signature must use exclusive canonicalization');
  signatureHash(only(signedInfo, DSIG, 'SignatureMethod', 'SignatureMethod').getAttribute('Algorithm') ?? '', allowSha1);
  const reference = only(signedInfo, DSIG, 'Reference', 'Reference');
  if (reference.getAttribute('URI') !== `#${id}`) throw new SamlMessageError('signature_wrapping', 'the signature must cover the message’s root element');
  checkDigest(only(reference, DSIG, 'DigestMethod', 'DigestMethod').getAttribute('Algorithm') ?? '', allowSha1);
  const transforms = children(reference, DSIG, 'Transforms').flatMap((list) => children(list, DSIG, 'Transform'));
  for (const transform of transforms) {
    const algorithm = transform.getAttribute('Algorithm');
    if (algorithm !== ENVELOPED && algorithm !== EXC_C14N) throw new SamlMessageError('unsupported_algorithm', 'the signature may use only the enveloped-signature and exclusive canonicalization transforms');
  }
  return signature;
}

/**
 * Checks the enveloped signature of a message sent over HTTP-POST with the SP's certificates (any
 * one: rollover), never with a certificate the message itself carries in KeyInfo, and answers the
 * root element parsed again from the bytes the signature covers: nothing outside them is read.
 */
export function verifiedRoot(xml: string, root: XmlElement, certificates: readonly string[], allowSha1: boolean, maxBytes: number): XmlElement {
  const signature = signatureOfRoot(root as Element, allowSha1);
  for (const certificate of certificates) {
    const verifier = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null, idAttributes: ['ID'] });
    let valid = false;
    try {
      verifier.loadSignature(signature);
      valid = verifier.checkSignature(xml);
    } catch {
      valid = false;
    }
    if (!valid) continue;
    const signed = verifier.getSignedReferences();
    if (signed.length !== 1) throw new SamlMessageError('signature_wrapping', 'the signature must cover exactly one element');
    return parseUntrustedXml(signed[0]!, maxBytes).documentElement;
  }
  throw new SamlMessageError('bad_signature', 'the signature does not verify with any of the app’s signing certificates');
}
