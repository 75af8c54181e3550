import { samlId, status, xmlEscape } from '../assertion.js';
import { SamlMessageError } from '../inbound/errors.js';
import { SAML, SAMLP } from '../inbound/message.js';
import type { IssuedNameId } from '../name-id.js';
import { childElements, textOf, type XmlElement } from '../xml.js';

/** SAML Core 3.7.3.2: an IdP that could not log the principal out of every app says so. */
export const PARTIAL_LOGOUT = 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout';
/** SAML Core 3.2.2.2: the request names a principal the IdP does not know. */
export const UNKNOWN_PRINCIPAL = 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal';

/** What Gatehouse acts on in a LogoutRequest (SAML Core 3.7.1), read from its signed content. */
export interface LogoutRequestFields {
  id: string;
  nameId: IssuedNameId;
  sessionIndexes: string[];
  notOnOrAfterMs?: number;
}

/** The LogoutRequest's NameID and SessionIndexes; an encrypted or missing NameID is refused. */
export function logoutRequestFields(root: XmlElement): LogoutRequestFields {
  if (root.namespaceURI !== SAMLP || root.localName !== 'LogoutRequest') throw new SamlMessageError('unexpected_message', 'not a LogoutRequest');
  const nameIds = childElements(root, SAML, 'NameID');
  if (nameIds.length !== 1) throw new SamlMessageError('malformed', 'the LogoutRequest must name the user with one plain NameID (BaseID and EncryptedID are not supported)');
  const nameId = nameIds[0]!;
  const notOnOrAfter = root.getAttribute('NotOnOrAfter') || undefined;
  const attribute = (name: string) => nameId.getAttribute(name) || undefined;
  const nameQualifier = attribute('NameQualifier');
  const spNameQualifier = attribute('SPNameQualifier');
  return {
    id: root.getAttribute('ID')!,
    nameId: {
      value: textOf(nameId),
      format: attribute('Format') ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      ...(nameQualifier !== undefined ? { nameQualifier } : {}),
      ...(spNameQualifier !== undefined ? { spNameQualifier } : {}),
    },
    sessionIndexes: childElements(root, SAMLP, 'SessionIndex').map(textOf),
    ...(notOnOrAfter !== undefined ? { notOnOrAfterMs: Date.parse(notOnOrAfter) } : {}),
  };
}

/** What a LogoutResponse says: what it answers and whether the app logged the user out. */
export interface LogoutResponseFields {
  inResponseTo?: string;
  success: boolean;
  /** the status codes, top-level first, for the logs */
  codes: string[];
}

export function logoutResponseFields(root: XmlElement): LogoutResponseFields {
  if (root.namespaceURI !== SAMLP || root.localName !== 'LogoutResponse') throw new SamlMessageError('unexpected_message', 'not a LogoutResponse');
  const codes: string[] = [];
  const statusElement = childElements(root, SAMLP, 'Status')[0];
  for (let code = statusElement ? childElements(statusElement, SAMLP, 'StatusCode')[0] : undefined; code; code = childElements(code, SAMLP, 'StatusCode')[0]) {
    codes.push(code.getAttribute('Value') ?? '');
  }
  const inResponseTo = root.getAttribute('InResponseTo') || undefined;
  // Success with PartialLogout below it: the app logged out, but not of everything it knows of.
  return { ...(inResponseTo !== undefined ? { inResponseTo } : {}), success: codes[0] === status.success, codes };
}

/** Whether a NameID is the one Gatehouse issued: value and format, and the qualifiers where the app sent them. */
export function sameNameId(issued: IssuedNameId, received: IssuedNameId): boolean {
  return (
    issued.value === received.value &&
    issued.format === received.format &&
    (received.nameQualifier === undefined || received.nameQualifier === issued.nameQualifier) &&
    (received.spNameQualifier === undefined || received.spNameQualifier === issued.spNameQualifier)
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function nameIdXml(nameId: IssuedNameId): string {
  const qualifiers = `${nameId.nameQualifier ? ` NameQualifier="${xmlEscape(nameId.nameQualifier)}"` : ''}${nameId.spNameQualifier ? ` SPNameQualifier="${xmlEscape(nameId.spNameQualifier)}"` : ''}`;
  return `<saml:NameID Format="${xmlEscape(nameId.format)}"${qualifiers}>${xmlEscape(nameId.value)}</saml:NameID>`;
}

/** A LogoutRequest from the IdP to an app (SAML Core 3.7.1), unsigned; valid for `lifetimeSeconds`. */
export function logoutRequestXml(content: { idpEntityId: string; destination: string; nameId: IssuedNameId; sessionIndex: string; nowMs: number; lifetimeSeconds: number }): { id: string; xml: string } {
  const id = samlId();
  return {
    id,
    xml:
      `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${iso(content.nowMs)}" Destination="${xmlEscape(content.destination)}" NotOnOrAfter="${iso(content.nowMs + content.lifetimeSeconds * 1000)}" Reason="urn:oasis:names:tc:SAML:2.0:logout:user">` +
      `<saml:Issuer>${xmlEscape(content.idpEntityId)}</saml:Issuer>${nameIdXml(content.nameId)}<samlp:SessionIndex>${xmlEscape(content.sessionIndex)}</samlp:SessionIndex>` +
      `</samlp:LogoutRequest>`,
  };
}

/** A LogoutResponse (SAML Core 3.7.2), unsigned: `codes` top-level first (Success, or an error and its second level). */
export function logoutResponseXml(content: { idpEntityId: string; destination: string; inResponseTo: string; codes: [string, ...string[]]; message?: string; nowMs: number }): { id: string; xml: string } {
  const id = samlId();
  const [top, ...rest] = content.codes;
  const inner = rest.reduceRight((nested, code) => `<samlp:StatusCode Value="${code}">${nested}</samlp:StatusCode>`, '');
  return {
    id,
    xml:
      `<samlp:LogoutResponse xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${iso(content.nowMs)}" Destination="${xmlEscape(content.destination)}" InResponseTo="${xmlEscape(content.inResponseTo)}">` +
      `<saml:Issuer>${xmlEscape(content.idpEntityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${top}">${inner}</samlp:StatusCode>${content.message ? `<samlp:StatusMessage>${xmlEscape(content.message)}</samlp:StatusMessage>` : ''}</samlp:Status>` +
      `</samlp:LogoutResponse>`,
  };
}
