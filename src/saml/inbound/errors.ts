/**
 * Why an incoming SAML message was refused. `code` is stable (tests and logs switch on it); the
 * message is safe to show the person or the SP's admin and names what was wrong, never a key.
 */
export type SamlMessageProblem =
  | 'missing'
  | 'too_large'
  | 'not_base64'
  | 'not_deflated'
  | 'duplicate_parameter'
  | 'malformed'
  | 'not_schema_valid'
  | 'unexpected_message'
  | 'unknown_issuer'
  | 'signature_required'
  | 'bad_signature'
  | 'unsupported_algorithm'
  | 'signature_wrapping'
  | 'wrong_destination'
  | 'stale'
  | 'replayed';

export class SamlMessageError extends Error {
  override readonly name = 'SamlMessageError';

  constructor(
    readonly code: SamlMessageProblem,
    message: string,
  ) {
    super(message);
  }
}
