import { childElements, textOf, type XmlElement } from '../xml.js';
import { SamlMessageError } from './errors.js';
import { SAML, SAMLP } from './message.js';

/** What Gatehouse acts on in an AuthnRequest (SAML Core 3.4.1), read from its signed content. */
export interface AuthnRequestFields {
  id: string;
  /** the ACS URL the request asks for, to be matched against the registered ones, never trusted as is */
  assertionConsumerServiceUrl?: string;
  assertionConsumerServiceIndex?: number;
  protocolBinding?: string;
  forceAuthn: boolean;
  isPassive: boolean;
  nameIdPolicy?: { format?: string; allowCreate?: boolean; spNameQualifier?: string };
  requestedAuthnContext?: { comparison: 'exact' | 'minimum' | 'maximum' | 'better'; classRefs: string[] };
  /** `<Subject><NameID>`: who the SP expects to sign in (a hint, checked against the session) */
  subject?: string;
}

const child = (parent: XmlElement, namespace: string, localName: string): XmlElement | undefined => childElements(parent, namespace, localName)[0];

/** xs:boolean: `true`/`1` and `false`/`0` (the schema has checked it is one of them). */
function flag(element: XmlElement, name: string): boolean | undefined {
  const value = element.getAttribute(name);
  if (value === null || value === '') return undefined;
  return value === 'true' || value === '1';
}

/** The AuthnRequest's fields; the schema has already checked their types. */
export function authnRequestFields(root: XmlElement): AuthnRequestFields {
  if (root.namespaceURI !== SAMLP || root.localName !== 'AuthnRequest') throw new SamlMessageError('unexpected_message', 'not an AuthnRequest');
  const acsUrl = root.getAttribute('AssertionConsumerServiceURL') || undefined;
  const acsIndex = root.getAttribute('AssertionConsumerServiceIndex') || undefined;
  // SAML Core 3.4.1: the index excludes the URL and the binding.
  if (acsIndex !== undefined && (acsUrl !== undefined || root.getAttribute('ProtocolBinding'))) {
    throw new SamlMessageError('malformed', 'AssertionConsumerServiceIndex excludes AssertionConsumerServiceURL and ProtocolBinding');
  }
  const policy = child(root, SAMLP, 'NameIDPolicy');
  const context = child(root, SAMLP, 'RequestedAuthnContext');
  const subjectId = (() => {
    const subject = child(root, SAML, 'Subject');
    const nameId = subject ? child(subject, SAML, 'NameID') : undefined;
    return nameId ? textOf(nameId) : undefined;
  })();
  const comparison = context?.getAttribute('Comparison') || 'exact';
  return {
    id: root.getAttribute('ID')!,
    ...(acsUrl !== undefined ? { assertionConsumerServiceUrl: acsUrl } : {}),
    ...(acsIndex !== undefined ? { assertionConsumerServiceIndex: Number(acsIndex) } : {}),
    ...(root.getAttribute('ProtocolBinding') ? { protocolBinding: root.getAttribute('ProtocolBinding')! } : {}),
    forceAuthn: flag(root, 'ForceAuthn') === true,
    isPassive: flag(root, 'IsPassive') === true,
    ...(policy
      ? {
          nameIdPolicy: {
            ...(policy.getAttribute('Format') ? { format: policy.getAttribute('Format')! } : {}),
            ...(flag(policy, 'AllowCreate') !== undefined ? { allowCreate: flag(policy, 'AllowCreate')! } : {}),
            ...(policy.getAttribute('SPNameQualifier') ? { spNameQualifier: policy.getAttribute('SPNameQualifier')! } : {}),
          },
        }
      : {}),
    ...(context
      ? {
          requestedAuthnContext: {
            comparison: comparison as 'exact' | 'minimum' | 'maximum' | 'better',
            // Declaration references cannot be met: only class references are kept (an empty list answers NoAuthnContext).
            classRefs: childElements(context, SAML, 'AuthnContextClassRef').map(textOf),
          },
        }
      : {}),
    ...(subjectId ? { subject: subjectId } : {}),
  };
}
