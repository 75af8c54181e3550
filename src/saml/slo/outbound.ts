import { sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { SamlApp, SignatureAlgorithm } from '../../domain/saml-apps.js';
import type { SigningKey } from '../response.js';
import { samlify } from '../samlify.js';

const algorithms: Record<SignatureAlgorithm, { uri: string; hash: string }> = {
  'rsa-sha256': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', hash: 'sha256' },
  'rsa-sha384': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', hash: 'sha384' },
  'rsa-sha512': { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', hash: 'sha512' },
  'rsa-sha1': { uri: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', hash: 'sha1' },
};

/** A logout message on its way to an app: a URL to redirect to, or a form to post. */
export type Outgoing = { binding: 'redirect'; url: string } | { binding: 'post'; action: string; parameter: 'SAMLRequest' | 'SAMLResponse'; message: string; relayState?: string };

/**
 * HTTP-Redirect (SAML Bindings 3.4.4.1): the message deflated, base64 and URL-encoded, then the
 * detached signature over `SAMLRequest|SAMLResponse=…&RelayState=…&SigAlg=…` exactly as sent, with
 * the app's signature algorithm and the tenant's active key.
 */
function redirectUrl(location: string, parameter: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string | undefined, app: SamlApp, key: SigningKey): string {
  const algorithm = algorithms[app.signatureAlgorithm];
  const signed = [
    `${parameter}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`,
    ...(relayState !== undefined ? [`RelayState=${encodeURIComponent(relayState)}`] : []),
    `SigAlg=${encodeURIComponent(algorithm.uri)}`,
  ].join('&');
  const signature = sign(algorithm.hash, Buffer.from(signed, 'utf8'), key.privateKeyPem).toString('base64');
  const url = new URL(location);
  // An SLO URL may carry its own query; the SAML parameters follow it.
  return `${url.origin}${url.pathname}?${url.search ? `${url.search.slice(1)}&` : ''}${signed}&Signature=${encodeURIComponent(signature)}`;
}

const lib = (samlify as unknown as { SamlLib: { constructSAMLSignature(options: Record<string, unknown>): string } }).SamlLib;

/** HTTP-POST (SAML Bindings 3.5): the enveloped signature (after the Issuer, SAML Core 5.4.1) by samlify. */
function postSigned(xml: string, rootName: 'LogoutRequest' | 'LogoutResponse', app: SamlApp, key: SigningKey): string {
  return lib.constructSAMLSignature({
    rawSamlMessage: xml,
    privateKey: key.privateKeyPem,
    // samlify's signer takes the certificate's base64 here (it adds the PEM armour itself).
    signingCert: key.certificate,
    signatureAlgorithm: algorithms[app.signatureAlgorithm].uri,
    isMessageSigned: true,
    isBase64Output: true,
    signatureConfig: { prefix: 'ds', location: { reference: `/*[local-name(.)='${rootName}']/*[local-name(.)='Issuer']`, action: 'after' } },
  });
}

/** Signs a logout message for `location` over `binding`: every logout message Gatehouse sends is signed. */
export function signedLogoutMessage(message: { xml: string; rootName: 'LogoutRequest' | 'LogoutResponse' }, target: { location: string; binding: 'redirect' | 'post'; relayState?: string }, app: SamlApp, key: SigningKey): Outgoing {
  const parameter = message.rootName === 'LogoutRequest' ? 'SAMLRequest' : 'SAMLResponse';
  if (target.binding === 'redirect') return { binding: 'redirect', url: redirectUrl(target.location, parameter, message.xml, target.relayState, app, key) };
  return { binding: 'post', action: target.location, parameter, message: postSigned(message.xml, message.rootName, app, key), ...(target.relayState !== undefined ? { relayState: target.relayState } : {}) };
}
