import { describe, expect, it } from 'vitest';
import { SAML, SAMLP } from '../../src/saml/inbound/message.js';
import { logoutRequestFields, logoutResponseFields, sameNameId } from '../../src/saml/slo/messages.js';
import { parseUntrustedXml } from '../../src/saml/xml.js';

const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

function request(nameId: string, extra = ''): ReturnType<typeof logoutRequestFields> {
  const xml = `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_r1" Version="2.0" IssueInstant="2026-12-07T10:00:00Z"><saml:Issuer>https://sp.test</saml:Issuer>${nameId}${extra}</samlp:LogoutRequest>`;
  return logoutRequestFields(parseUntrustedXml(xml, 64 * 1024).documentElement);
}

describe('reading a LogoutRequest', () => {
  it('reads the whole NameID: a comment inside it is dropped, never an end', () => {
    // Canonicalisation without comments signs "alice@example.com.evil.test"; a reader that stopped
    // at the comment would see "alice@example.com" and log out someone else.
    const fields = request(`<saml:NameID Format="${EMAIL}">alice@example.com<!---->.evil.test</saml:NameID>`);
    expect(fields.nameId.value).toBe('alice@example.com.evil.test');
    expect(sameNameId({ value: 'alice@example.com', format: EMAIL }, fields.nameId)).toBe(false);
  });

  it('reads the SessionIndexes and the default format, and compares qualifiers only where sent', () => {
    const fields = request('<saml:NameID SPNameQualifier="https://sp.test">p-1</saml:NameID>', '<samlp:SessionIndex>_a</samlp:SessionIndex><samlp:SessionIndex>_b</samlp:SessionIndex>');
    expect(fields).toMatchObject({ id: '_r1', sessionIndexes: ['_a', '_b'], nameId: { value: 'p-1', format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', spNameQualifier: 'https://sp.test' } });
    expect(sameNameId({ value: 'p-1', format: fields.nameId.format, spNameQualifier: 'https://other.test' }, fields.nameId)).toBe(false);
    expect(sameNameId({ value: 'p-1', format: fields.nameId.format, spNameQualifier: 'https://sp.test' }, fields.nameId)).toBe(true);
  });

  it('refuses an encrypted, missing or repeated NameID, and another message type', () => {
    expect(() => request('')).toThrow(/one plain NameID/);
    expect(() => request('<saml:NameID>a</saml:NameID><saml:NameID>b</saml:NameID>')).toThrow(/one plain NameID/);
    expect(() => request('<saml:EncryptedID/>')).toThrow(/one plain NameID/);
    const response = parseUntrustedXml(`<samlp:LogoutResponse xmlns:samlp="${SAMLP}" ID="_x" InResponseTo="_r1"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:PartialLogout"/></samlp:StatusCode></samlp:Status></samlp:LogoutResponse>`, 4096).documentElement;
    expect(() => logoutRequestFields(response)).toThrow(/not a LogoutRequest/);
    expect(logoutResponseFields(response)).toEqual({ inResponseTo: '_r1', success: true, codes: ['urn:oasis:names:tc:SAML:2.0:status:Success', 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout'] });
  });
});
