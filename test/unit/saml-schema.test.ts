import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { samlify } from '../../src/saml/samlify.js';
import { samlProtocolSchema, schemaProblems } from '../../src/saml/schema.js';

const authnRequest = (attributes: string) =>
  `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ${attributes} Version="2.0" IssueInstant="2026-12-07T10:00:00Z" AssertionConsumerServiceURL="https://sp.example/acs"><saml:Issuer>https://sp.example/sp</saml:Issuer></samlp:AuthnRequest>`;

describe('SAML schema validation (xmllint-wasm, no Java)', () => {
  it('accepts a valid AuthnRequest and names what is wrong with an invalid one', async () => {
    const schema = samlProtocolSchema();
    expect(await schemaProblems(authnRequest('ID="_a1"'), schema)).toEqual([]);
    // No ID, and an ID that is not an xs:ID (it may not start with a digit).
    expect((await schemaProblems(authnRequest(''), schema)).join()).toContain("attribute 'ID' is required");
    expect((await schemaProblems(authnRequest('ID="1abc"'), schema)).join()).toContain('ID');
    expect((await schemaProblems('<samlp:Unknown xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>', schema)).length).toBeGreaterThan(0);
  });

  it('is the validator samlify runs, set once by the module that loads it', async () => {
    expect(samlify).toBeDefined();
    // samlify's own module state, read to prove the wiring (not used by the application).
    const { getContext } = createRequire(import.meta.url)('samlify/build/src/api.js') as { getContext(): { validate?: (xml: string) => Promise<unknown> } };
    const validate = getContext().validate!;
    await expect(validate(authnRequest('ID="_a1"'))).resolves.toBe(true);
    await expect(validate(authnRequest(''))).rejects.toThrow(/ERR_SCHEMA_VALIDATION/);
  });
});
