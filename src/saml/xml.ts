import { createRequire } from 'node:module';

/**
 * The part of the DOM we read. @xmldom/xmldom's own typings (and samlify's, which import them)
 * reference TypeScript's DOM library, which would declare browser globals for the whole program;
 * so the parser is loaded without its typings and typed by these few members.
 */
export interface XmlNode {
  readonly nodeType: number;
  readonly nodeValue: string | null;
  readonly firstChild: XmlNode | null;
  readonly nextSibling: XmlNode | null;
}
export interface XmlElement extends XmlNode {
  readonly namespaceURI: string | null;
  readonly localName: string;
  getAttribute(name: string): string | null;
}
export interface XmlDocument extends XmlNode {
  readonly documentElement: XmlElement | null;
}
interface ParserOptions {
  errorHandler: Record<'warning' | 'error' | 'fatalError', (message: string) => void>;
}
const { DOMParser } = createRequire(import.meta.url)('@xmldom/xmldom') as { DOMParser: new (options: ParserOptions) => { parseFromString(xml: string, mimeType: string): XmlDocument | undefined } };

/** XML that Gatehouse will not read; the message says why, for the caller's error. */
export class XmlInputError extends Error {
  override readonly name = 'XmlInputError';
}

/**
 * Parses untrusted XML (SP metadata now, SAML messages later) into a DOM, refusing first what
 * must never reach a parser: input over `maxBytes`, and any document type declaration. A DOCTYPE
 * is how entities are declared (billion laughs, external entities), and no SAML document needs
 * one (SAML Core 1.3.6 and the metadata schema define none), so it is refused outright rather than
 * trusted to the parser's entity handling. Any parser warning or error is fatal: a document
 * that is not well-formed is not guessed at.
 */
export function parseUntrustedXml(xml: string, maxBytes: number): XmlDocument & { documentElement: XmlElement } {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) throw new XmlInputError(`is larger than ${maxBytes} bytes`);
  // Both spellings, any case: a parser that tolerates a lower-case one must not see it either.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new XmlInputError('contains a DOCTYPE or entity declaration, which SAML documents never need');
  // xmldom reports a handler's exception again as a parse error; the first problem is the one to name.
  let problem: string | undefined;
  const fail = (level: string) => (message: string) => {
    problem ??= `${level}: ${message.replace(/\[xmldom \w+\]|@#\[line:\w*,col:\w*\]/g, '').replace(/\s+/g, ' ').trim().slice(0, 200)}`;
    throw new XmlInputError(problem);
  };
  let doc: XmlDocument | undefined;
  try {
    doc = new DOMParser({ errorHandler: { warning: fail('warning'), error: fail('error'), fatalError: fail('fatal error') } }).parseFromString(xml, 'text/xml');
  } catch {
    // reported below, with the first problem
  }
  if (problem) throw new XmlInputError(`is not well-formed XML (${problem})`);
  if (!doc?.documentElement) throw new XmlInputError('is not an XML document');
  // One root element and nothing but comments, processing instructions and blanks around it.
  for (let node = doc.firstChild; node; node = node.nextSibling) {
    const stray = (node.nodeType === 1 && node !== doc.documentElement) || ((node.nodeType === 3 || node.nodeType === 4) && (node.nodeValue ?? '').trim() !== '');
    if (stray) throw new XmlInputError('is not well-formed XML (content after the root element)');
  }
  return doc as XmlDocument & { documentElement: XmlElement };
}

/** The child elements of `parent` with this namespace and local name, in document order. */
export function childElements(parent: XmlElement, namespace: string, localName: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as XmlElement).namespaceURI === namespace && (node as XmlElement).localName === localName) found.push(node as XmlElement);
  }
  return found;
}

/** The text of an element, with nothing but its text nodes (comments and PIs dropped, not cut at). */
export function textOf(element: XmlElement): string {
  let text = '';
  for (let node = element.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 3 || node.nodeType === 4) text += node.nodeValue ?? '';
  }
  return text.trim();
}
