import { bindings, nameIdFormats } from '../domain/saml-apps.js';
import type { SamlAppInput } from './app-input.js';
import { childElements, parseUntrustedXml, textOf, XmlInputError, type XmlElement } from './xml.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** SP metadata larger than this is refused unread (one SP's metadata is a few kilobytes). */
export const MAX_METADATA_BYTES = 256 * 1024;

/** What the metadata says, in the admin API's field names, and what of it was left out and why. */
export interface SpMetadataReading {
  fields: SamlAppInput;
  warnings: string[];
}

const shortNameIdFormat = new Map<string, string>(Object.entries(nameIdFormats).map(([short, urn]) => [urn, short]));

function bool(element: XmlElement, attribute: string): boolean | undefined {
  const value = element.getAttribute(attribute);
  if (value === null || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new XmlInputError(`has ${attribute}="${value.slice(0, 20)}", which is not a boolean`);
}

function certificatesOf(descriptor: XmlElement, use: 'signing' | 'encryption'): string[] {
  return childElements(descriptor, MD, 'KeyDescriptor')
    .filter((key) => (key.getAttribute('use') || use) === use)
    .flatMap((key) => childElements(key, DS, 'KeyInfo'))
    .flatMap((info) => childElements(info, DS, 'X509Data'))
    .flatMap((data) => childElements(data, DS, 'X509Certificate'))
    .map(textOf);
}

/**
 * Reads one SP's `EntityDescriptor` (SAML Metadata 2.3, 2.4.4) into registration fields. Only
 * HTTP-POST assertion consumer services are taken: HTTP-Redirect ones are refused (the Web SSO
 * profile forbids a Response over it), other bindings (Artifact, PAOS) are skipped with a warning.
 * The metadata's signature, if any, is not checked: whoever registers the app vouches for it.
 */
export function readSpMetadata(xml: string): SpMetadataReading {
  const root = parseUntrustedXml(xml, MAX_METADATA_BYTES).documentElement;
  if (root.namespaceURI === MD && root.localName === 'EntitiesDescriptor') throw new XmlInputError('holds several entities (EntitiesDescriptor); give the EntityDescriptor of this one SP');
  if (root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') throw new XmlInputError('is not SAML metadata: its root must be an md:EntityDescriptor');
  const descriptors = childElements(root, MD, 'SPSSODescriptor').filter((sp) => (sp.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
  if (descriptors.length !== 1) throw new XmlInputError(descriptors.length ? 'has several SAML 2.0 SPSSODescriptors; give one' : 'has no SPSSODescriptor for SAML 2.0 (is it an IdP\'s metadata?)');
  const sp = descriptors[0]!;
  const warnings: string[] = [];

  const acsUrls: NonNullable<SamlAppInput['acs_urls']> = [];
  childElements(sp, MD, 'AssertionConsumerService').forEach((acs, position) => {
    const binding = acs.getAttribute('Binding') ?? '';
    const location = acs.getAttribute('Location') ?? '';
    if (binding === bindings.redirect) {
      throw new XmlInputError(`has an AssertionConsumerService over HTTP-Redirect (${location.slice(0, 200)}); the Web SSO profile sends Responses only over HTTP-POST here (SAML Profiles 4.1.2): remove it or give acs_urls yourself`);
    }
    if (binding !== bindings.post) {
      warnings.push(`metadata: AssertionConsumerService ${location.slice(0, 200)} with binding ${binding.slice(0, 100)} skipped (only HTTP-POST is supported)`);
      return;
    }
    const index = Number(acs.getAttribute('index') ?? position);
    acsUrls.push({ url: location, binding: 'HTTP-POST', index: Number.isInteger(index) ? index : position, is_default: bool(acs, 'isDefault') === true });
  });

  const slo = childElements(sp, MD, 'SingleLogoutService')
    .map((service) => ({ binding: service.getAttribute('Binding') ?? '', url: service.getAttribute('Location') ?? '', responseUrl: service.getAttribute('ResponseLocation') }))
    // HTTP-Redirect first: logout messages are small, and it needs no page to post from.
    .sort((a, b) => Number(b.binding === bindings.redirect) - Number(a.binding === bindings.redirect))
    .find((service) => service.binding === bindings.redirect || service.binding === bindings.post);

  const formats = childElements(sp, MD, 'NameIDFormat').map(textOf);
  const known = formats.flatMap((format) => (shortNameIdFormat.has(format) ? [shortNameIdFormat.get(format)!] : []));
  for (const format of formats.filter((format) => !shortNameIdFormat.has(format))) warnings.push(`metadata: NameIDFormat ${format.slice(0, 200)} skipped (not one Gatehouse issues)`);

  const encryption = certificatesOf(sp, 'encryption');
  if (encryption.length > 1) warnings.push('metadata: several encryption certificates; the first is used');
  const authnRequestsSigned = bool(sp, 'AuthnRequestsSigned');
  const wantAssertionsSigned = bool(sp, 'WantAssertionsSigned');
  const fields: SamlAppInput = {
    entity_id: root.getAttribute('entityID') ?? '',
    acs_urls: acsUrls,
    signing_certificates: [...new Set(certificatesOf(sp, 'signing'))],
    ...(slo ? { slo: { url: slo.url, binding: slo.binding === bindings.redirect ? 'HTTP-Redirect' : 'HTTP-POST', ...(slo.responseUrl ? { response_url: slo.responseUrl } : {}) } } : {}),
    ...(encryption[0] !== undefined ? { encryption_certificate: encryption[0] } : {}),
    ...(known.length ? { name_id_formats: [...new Set(known)] as NonNullable<SamlAppInput['name_id_formats']> } : {}),
    ...(authnRequestsSigned !== undefined ? { authn_requests_signed: authnRequestsSigned } : {}),
    // The SP wants signed assertions: sign them (the response is signed by default as well).
    ...(wantAssertionsSigned === true ? { sign_assertion: true } : {}),
  };
  return { fields, warnings };
}
