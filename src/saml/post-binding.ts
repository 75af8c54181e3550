import { base64Bytes, BindingInputError, MAX_MESSAGE_BYTES } from './redirect-binding.js';

/** Base64 of {@link MAX_MESSAGE_BYTES}, with room for the line breaks senders wrap it with. */
export const MAX_POST_ENCODED_CHARS = Math.ceil(((MAX_MESSAGE_BYTES * 4) / 3) * 1.05);

/**
 * The HTTP-POST binding's inbound half (SAML Bindings 3.5): a `SAMLRequest` or `SAMLResponse`
 * form field, base64 of the XML, capped before it is decoded. The XML is not trusted yet: a POST
 * message carries its signature inside (XML-DSig), which SSO and SLO check on the parsed message.
 */
export function readPostMessage(encoded: string, name: 'SAMLRequest' | 'SAMLResponse'): string {
  if (encoded.length > MAX_POST_ENCODED_CHARS) throw new BindingInputError(`${name} is longer than ${MAX_POST_ENCODED_CHARS} characters`);
  const bytes = base64Bytes(encoded, name);
  if (bytes.length > MAX_MESSAGE_BYTES) throw new BindingInputError(`${name} is larger than ${MAX_MESSAGE_BYTES} bytes`);
  return bytes.toString('utf8');
}
