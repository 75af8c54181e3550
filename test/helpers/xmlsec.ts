import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Signing and checking SAML test messages with tools independent of samlify and xml-crypto:
 * Debian's `xmlsec1` for XML signatures and `openssl` for keys, certificates and the
 * HTTP-Redirect binding's detached signatures. Tests craft messages with these, so a defence is
 * checked against what a real, independent signer makes, not against the code under test.
 */

const run = promisify(execFile);
export const XMLSEC1 = process.env['GATEHOUSE_XMLSEC1'] ?? '/usr/bin/xmlsec1';

export const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

/** An RSA key and a self-signed certificate in a temporary folder (`close` removes it). */
export interface TestKeyPair {
  dir: string;
  keyFile: string;
  certFile: string;
  keyPem: string;
  certPem: string;
  /** the certificate's base64 DER, as metadata and KeyInfo carry it */
  certBase64: string;
  close(): Promise<void>;
}

export async function testKeyPair(commonName = 'test-sp'): Promise<TestKeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-saml-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30', '-subj', `/CN=${commonName}`, '-keyout', keyFile, '-out', certFile]);
  const [keyPem, certPem] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  return { dir, keyFile, certFile, keyPem, certPem, certBase64: certPem.replace(/-----[A-Z ]+-----|\s/g, ''), close: () => rm(dir, { recursive: true, force: true }) };
}

/** An enveloped-signature template for the element with `ID="{id}"` (SAML Core 5.4: exclusive c14n, one reference). */
function signatureTemplate(id: string, algorithm: string): string {
  const digest = algorithm === RSA_SHA1 ? 'http://www.w3.org/2000/09/xmldsig#sha1' : 'http://www.w3.org/2001/04/xmlenc#sha256';
  return (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
    `<ds:SignatureMethod Algorithm="${algorithm}"/>` +
    `<ds:Reference URI="#${id}"><ds:Transforms>` +
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>' +
    '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
    `</ds:Transforms><ds:DigestMethod Algorithm="${digest}"/><ds:DigestValue/></ds:Reference>` +
    '</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>'
  );
}

/**
 * Signs the element `{namespace}localName` with `ID="{id}"` of `xml` with xmlsec1: a signature
 * template goes right after the element's `<saml:Issuer>` (where SAML's schema puts it), or where
 * `xml` has the comment `<!--signature-->` (to put a signature where it does not belong), then
 * xmlsec1 fills it in. Without the comment, `xml` must contain `<saml:Issuer ...>...</saml:Issuer>`
 * inside that element once, as every message of the tests does.
 */
export async function signXml(xml: string, pair: TestKeyPair, element: { namespace: string; localName: string; id: string }, algorithm = RSA_SHA256): Promise<string> {
  let template: string;
  if (xml.includes('<!--signature-->')) template = xml.replace('<!--signature-->', signatureTemplate(element.id, algorithm));
  else {
    const start = xml.indexOf(`ID="${element.id}"`);
    const issuerEnd = xml.indexOf('</saml:Issuer>', start);
    if (start < 0 || issuerEnd < 0) throw new Error(`no element with ID="${element.id}" and an Issuer to sign after`);
    const at = issuerEnd + '</saml:Issuer>'.length;
    template = xml.slice(0, at) + signatureTemplate(element.id, algorithm) + xml.slice(at);
  }
  const input = join(pair.dir, `unsigned-${element.id}.xml`);
  const output = join(pair.dir, `signed-${element.id}.xml`);
  await writeFile(input, template);
  await run(XMLSEC1, ['--sign', '--privkey-pem', `${pair.keyFile},${pair.certFile}`, `--id-attr:ID`, `${element.namespace}:${element.localName}`, '--output', output, input]);
  return readFile(output, 'utf8');
}

/** Whether xmlsec1 finds a valid signature over the element `{namespace}localName` with the certificate. */
export async function verifiedByXmlsec(xml: string, pair: TestKeyPair, element: { namespace: string; localName: string }): Promise<boolean> {
  const input = join(pair.dir, `verify-${Date.now()}-${Math.random().toString(36).slice(2)}.xml`);
  await writeFile(input, xml);
  try {
    await run(XMLSEC1, ['--verify', '--pubkey-cert-pem', pair.certFile, `--id-attr:ID`, `${element.namespace}:${element.localName}`, input]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(input, { force: true });
  }
}

/**
 * The HTTP-Redirect binding's signature (SAML Bindings 3.4.4.1) over `signed`, the query string's
 * `SAMLRequest=...&RelayState=...&SigAlg=...` exactly as it will be sent, made by openssl.
 */
export async function signRedirectQuery(signed: string, pair: TestKeyPair, algorithm = RSA_SHA256): Promise<string> {
  const input = join(pair.dir, `query-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(input, signed);
  try {
    const { stdout } = await run('openssl', ['dgst', algorithm === RSA_SHA1 ? '-sha1' : '-sha256', '-sign', pair.keyFile, input], { encoding: 'buffer' });
    return (stdout as unknown as Buffer).toString('base64');
  } finally {
    await rm(input, { force: true });
  }
}
