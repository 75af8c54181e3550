import { randomBytes } from 'node:crypto';
import { attributeNameFormats, type AttributeMapping, type SamlApp } from '../domain/saml-apps.js';
import type { User } from '../domain/users.js';
import { SAML, SAMLP } from './inbound/message.js';

/** SAML Core's top-level status codes and the second-level ones the bridge answers with. */
export const status = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  noAuthnContext: 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
} as const;

/** XML text and attribute values: every value that comes from a user or an app is escaped here. */
export function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[char]!);
}

/** A SAML ID: an NCName, unguessable (SAML Core 1.3.4). */
export function samlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Where a Response goes and what it answers. */
export interface ResponseTarget {
  idpEntityId: string;
  acsUrl: string;
  /** the AuthnRequest's ID; absent for IdP-initiated SSO */
  inResponseTo?: string;
}

/** A Response without an assertion: a refusal the SP can read (`status` second-level code). */
export function errorResponseXml(target: ResponseTarget, second: string, message: string, nowMs: number): { id: string; xml: string } {
  const id = samlId();
  const top = second === status.invalidNameIdPolicy || second === status.requestDenied ? status.requester : status.responder;
  return {
    id,
    xml:
      `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${iso(nowMs)}" Destination="${xmlEscape(target.acsUrl)}"${target.inResponseTo ? ` InResponseTo="${xmlEscape(target.inResponseTo)}"` : ''}>` +
      `<saml:Issuer>${xmlEscape(target.idpEntityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${top}"><samlp:StatusCode Value="${second}"/></samlp:StatusCode><samlp:StatusMessage>${xmlEscape(message)}</samlp:StatusMessage></samlp:Status>` +
      `</samlp:Response>`,
  };
}

/** The values of one mapped attribute for a user (none: the attribute is left out). */
export function attributeValues(user: User, mapping: AttributeMapping, roles: readonly string[]): string[] {
  switch (mapping.source) {
    case 'user_id':
      return [user._id];
    case 'username':
      return [user.username];
    case 'email':
      return user.email ? [user.email] : [];
    case 'email_verified':
      return user.email ? [String(user.emailVerified === true)] : [];
    case 'given_name':
      return user.givenName ? [user.givenName] : [];
    case 'family_name':
      return user.familyName ? [user.familyName] : [];
    case 'name': {
      const name = [user.givenName, user.familyName].filter(Boolean).join(' ');
      return name ? [name] : [];
    }
    case 'phone':
      return user.phone ? [user.phone] : [];
    case 'roles':
      return [...roles];
  }
}

export interface AssertionContent {
  target: ResponseTarget;
  app: SamlApp;
  nameId: { value: string; format: string; spNameQualifier?: string; nameQualifier?: string };
  /** when and how the user signed in: the session's, not this response's */
  authnInstantMs: number;
  authnContextClass: string;
  sessionIndex: string;
  /** the end of the Gatehouse session this assertion speaks for, when known */
  sessionNotOnOrAfterMs?: number;
  attributes: Array<{ mapping: AttributeMapping; values: string[] }>;
  nowMs: number;
}

/**
 * A successful Response with one unsigned assertion (signing and encryption follow, as the app
 * asks: `response.ts`). SAML Core 2.4-2.7 and the Web SSO profile (Profiles 4.1.4.2): the bearer
 * `SubjectConfirmationData` carries `NotOnOrAfter`, `Recipient` and `InResponseTo`, never
 * `NotBefore`; `Conditions` bound the assertion to the app's audience and lifetime, `NotBefore`
 * allowing the app's clock skew; `Destination` is the ACS URL it is posted to.
 */
export function responseXml(content: AssertionContent): { id: string; assertionId: string; xml: string } {
  const { target, app, nameId, nowMs } = content;
  const id = samlId();
  const assertionId = samlId();
  const until = iso(nowMs + app.assertionLifetimeSeconds * 1000);
  const inResponseTo = target.inResponseTo ? ` InResponseTo="${xmlEscape(target.inResponseTo)}"` : '';
  const qualifiers = `${nameId.nameQualifier ? ` NameQualifier="${xmlEscape(nameId.nameQualifier)}"` : ''}${nameId.spNameQualifier ? ` SPNameQualifier="${xmlEscape(nameId.spNameQualifier)}"` : ''}`;
  const attributes = content.attributes
    .filter(({ values }) => values.length > 0)
    .map(({ mapping, values }) => {
      const friendly = mapping.friendlyName ? ` FriendlyName="${xmlEscape(mapping.friendlyName)}"` : '';
      const format = mapping.nameFormat ?? attributeNameFormats.unspecified;
      return `<saml:Attribute Name="${xmlEscape(mapping.name)}" NameFormat="${format}"${friendly}>${values.map((value) => `<saml:AttributeValue xsi:type="xs:string">${xmlEscape(value)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
    })
    .join('');
  const xml =
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${id}" Version="2.0" IssueInstant="${iso(nowMs)}" Destination="${xmlEscape(target.acsUrl)}"${inResponseTo}>` +
    `<saml:Issuer>${xmlEscape(target.idpEntityId)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${status.success}"/></samlp:Status>` +
    `<saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${assertionId}" Version="2.0" IssueInstant="${iso(nowMs)}">` +
    `<saml:Issuer>${xmlEscape(target.idpEntityId)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${xmlEscape(nameId.format)}"${qualifiers}>${xmlEscape(nameId.value)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${xmlEscape(target.acsUrl)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${iso(nowMs - app.clockSkewSeconds * 1000)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${xmlEscape(app.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${iso(content.authnInstantMs)}" SessionIndex="${xmlEscape(content.sessionIndex)}"${content.sessionNotOnOrAfterMs ? ` SessionNotOnOrAfter="${iso(content.sessionNotOnOrAfterMs)}"` : ''}>` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${xmlEscape(content.authnContextClass)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    `</saml:Assertion></samlp:Response>`;
  return { id, assertionId, xml };
}
