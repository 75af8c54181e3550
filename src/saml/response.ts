import { bindings, type SamlApp, type SignatureAlgorithm } from '../domain/saml-apps.js';
import { certificatePem } from '../domain/x509.js';
import { samlify } from './samlify.js';

const signatureAlgorithmUris: Record<SignatureAlgorithm, string> = {
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha384': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'rsa-sha512': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
};

const dataEncryption = { 'aes256-gcm': 'http://www.w3.org/2009/xmlenc11#aes256-gcm', 'aes256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc' } as const;
const RSA_OAEP = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/** The IdP's signing key for this response: the tenant's active SAML key, or the one the app is pinned to. */
export interface SigningKey {
  privateKeyPem: string;
  /** base64 DER */
  certificate: string;
}

/** What samlify is asked for here; loaded without typings (see samlify.ts). */
interface LoginResponder {
  createLoginResponse(sp: unknown, requestInfo: unknown, binding: 'post', user: unknown, customTagReplacement: (template: string) => { id: string; context: string }, encryptThenSign: boolean): Promise<{ context: string }>;
}
interface SamlLib {
  constructSAMLSignature(options: Record<string, unknown>): string;
}

const loaded = samlify as unknown as { IdentityProvider(options: Record<string, unknown>): LoginResponder; ServiceProvider(options: Record<string, unknown>): unknown; SamlLib: SamlLib };

/**
 * Signs (and encrypts) a Response built by `assertion.ts`, as the app is registered: samlify signs
 * the assertion when `sign_assertion`, encrypts it for the app's encryption certificate with the
 * chosen AES mode and RSA-OAEP key transport, then signs the Response when `sign_response` (after
 * encrypting, so the signature covers the encrypted assertion). A Response is never sent with
 * nothing signed: without either setting the Response is signed. Answers the Response, base64.
 */
export async function signedResponse(app: SamlApp, acsUrl: string, key: SigningKey, idpEntityId: string, response: { id: string; xml: string }): Promise<string> {
  const idp = loaded.IdentityProvider({
    entityID: idpEntityId,
    privateKey: key.privateKeyPem,
    signingCert: certificatePem(key.certificate),
    isAssertionEncrypted: app.encryptAssertion,
    dataEncryptionAlgorithm: dataEncryption[app.encryptionAlgorithm],
    keyEncryptionAlgorithm: RSA_OAEP,
    requestSignatureAlgorithm: signatureAlgorithmUris[app.signatureAlgorithm],
    singleSignOnService: [{ Binding: bindings.post, Location: idpEntityId }],
  });
  const sp = loaded.ServiceProvider({
    entityID: app.entityId,
    assertionConsumerService: [{ Binding: bindings.post, Location: acsUrl }],
    wantAssertionsSigned: app.signAssertion,
    wantMessageSigned: app.signResponse,
    ...(app.encryptAssertion && app.encryptionCertificate ? { encryptCert: certificatePem(app.encryptionCertificate) } : {}),
  });
  const { context } = await idp.createLoginResponse(sp, {}, 'post', {}, () => ({ id: response.id, context: response.xml }), true);
  return context;
}

/** Signs a Response that carries no assertion (a refusal), over the whole message. Answers it, base64. */
export function signedErrorResponse(app: SamlApp, key: SigningKey, response: { xml: string }): string {
  return loaded.SamlLib.constructSAMLSignature({
    rawSamlMessage: response.xml,
    privateKey: key.privateKeyPem,
    // samlify's signer takes the certificate's base64 here (it adds the PEM armour itself).
    signingCert: key.certificate,
    signatureAlgorithm: signatureAlgorithmUris[app.signatureAlgorithm],
    isMessageSigned: true,
    isBase64Output: true,
    signatureConfig: { prefix: 'ds', location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' } },
  });
}
