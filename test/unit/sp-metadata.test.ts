import { describe, expect, it } from 'vitest';
import { readSpMetadata } from '../../src/saml/sp-metadata.js';
import { parseUntrustedXml, XmlInputError } from '../../src/saml/xml.js';
import { spCertificate, spMetadata } from '../saml/helpers.js';

describe('reading SP metadata', () => {
  it('reads certificates and formats across line breaks, comments and CDATA, never cutting a value at a comment', async () => {
    const cert = await spCertificate();
    const wrapped = cert.replace(/(.{64})/g, '$1\n      ');
    const xml = spMetadata({ entityId: 'https://sp.example/x', signingCert: `\n      ${wrapped}\n    `, nameIdFormats: ['urn:oasis:names:tc:SAML:2.0:nameid-format:<!-- a comment -->persistent', '<![CDATA[urn:oasis:names:tc:SAML:2.0:nameid-format:transient]]>'] });
    const { fields, warnings } = readSpMetadata(xml);
    expect(fields.signing_certificates).toEqual([cert.replace(/\s/g, '')].map((value) => expect.stringContaining(value.slice(0, 40))));
    expect(fields.signing_certificates![0]!.replace(/\s/g, '')).toBe(cert);
    expect(fields.name_id_formats).toEqual(['persistent', 'transient']);
    expect(warnings).toEqual([]);
  });

  it('takes a KeyDescriptor without use for both signing and encryption, and ignores other namespaces', async () => {
    const cert = await spCertificate();
    const xml = [
      '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="urn:example:sp">',
      '<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol urn:oasis:names:tc:SAML:2.0:protocol">',
      `<KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>`,
      '<fake:AssertionConsumerService xmlns:fake="urn:example:not-saml" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://evil.example/acs" index="0"/>',
      '<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="3" isDefault="true"/>',
      '</SPSSODescriptor></EntityDescriptor>',
    ].join('');
    const { fields } = readSpMetadata(xml);
    expect(fields).toMatchObject({ entity_id: 'urn:example:sp', signing_certificates: [cert], encryption_certificate: cert, acs_urls: [{ url: 'https://sp.example/acs', binding: 'HTTP-POST', index: 3, is_default: true }] });
  });

  it('refuses an IdP’s metadata, two SP descriptors, and a boolean that is not one', () => {
    const idp = '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x:y"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>';
    expect(() => readSpMetadata(idp)).toThrow(/no SPSSODescriptor/);
    const sp = '<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>';
    expect(() => readSpMetadata(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x:y">${sp}${sp}</EntityDescriptor>`)).toThrow(/several/);
    const odd = spMetadata({ entityId: 'x:y' }).replace('AuthnRequestsSigned="false"', 'AuthnRequestsSigned="maybe"');
    expect(() => readSpMetadata(odd)).toThrow(XmlInputError);
  });
});

describe('parsing untrusted XML', () => {
  it('refuses entity declarations in any case, oversized input and trailing content, within the size bound', () => {
    const laughs = `<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><lolz>&lol9;</lolz>`;
    expect(() => parseUntrustedXml(laughs, 100_000)).toThrow(/DOCTYPE/);
    expect(() => parseUntrustedXml('<a><!doctype b></a>', 1000)).toThrow(/DOCTYPE/);
    expect(() => parseUntrustedXml('<a>&xxe;</a>', 1000)).toThrow(/well-formed/);
    expect(() => parseUntrustedXml(`<a>${'é'.repeat(600)}</a>`, 1000)).toThrow(/larger than 1000 bytes/);
    expect(() => parseUntrustedXml('<a/><b/>', 1000)).toThrow(/well-formed/);
    expect(() => parseUntrustedXml('<a/>trailing', 1000)).toThrow(/after the root/);
    expect(parseUntrustedXml('<?xml version="1.0"?><!-- c --><a/>', 1000).documentElement.localName).toBe('a');
  });
});
