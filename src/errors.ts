import type { z } from 'zod';
/**
 * The application's one error type for everything that is not an OAuth/OIDC protocol error (those
 * stay oidc-provider's `errors.*`). `code` is a stable, closed vocabulary so callers can `switch`
 * on it; `message` is safe to show to the user; `status` is the HTTP status it maps to.
 */
export type AppErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'forbidden'
  | 'invalid_csrf_token'
  | 'forbidden_origin'
  | 'not_found'
  | 'tenant_not_found'
  | 'interaction_expired'
  | 'conflict'
  | 'payload_too_large'
  | 'too_many_requests'
  | 'user_not_found'
  | 'enrollment_not_found'
  | 'invalid_totp_code'
  | 'webauthn_failed'
  | 'webauthn_credential_exists'
  | 'mfa_last_factor'
  | 'mfa_rate_limited'
  | 'no_signing_keys'
  | 'store_unavailable'
  | 'server_error';

const statusByCode: Record<AppErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  // RFC 9470: the token is good, the sign-in behind it is not strong or fresh enough.
  insufficient_user_authentication: 401,
  forbidden: 403,
  invalid_csrf_token: 403,
  forbidden_origin: 403,
  not_found: 404,
  tenant_not_found: 404,
  interaction_expired: 400,
  conflict: 409,
  payload_too_large: 413,
  too_many_requests: 429,
  user_not_found: 404,
  enrollment_not_found: 404,
  // A wrong code is a wrong answer from the user, not a failed bearer token (which is 401).
  invalid_totp_code: 400,
  webauthn_failed: 400,
  webauthn_credential_exists: 409,
  mfa_last_factor: 409,
  mfa_rate_limited: 429,
  no_signing_keys: 503,
  store_unavailable: 503,
  server_error: 500,
};

/** A way forward from an error page (shown to browsers only), e.g. "Start again" at the client. */
export interface ErrorLink {
  href: string;
  label: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  readonly link: ErrorLink | undefined;

  constructor(
    readonly code: AppErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number; link?: ErrorLink | undefined },
  ) {
    super(message, options);
    this.status = options?.status ?? statusByCode[code];
    this.link = options?.link;
  }
}

/** Turns a zod failure into one 400 that names the offending field(s). */
export function validationError(where: 'body' | 'query' | 'path', error: z.ZodError): AppError {
  const problems = error.issues.slice(0, 5).map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown or read-only field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${[...issue.path, key].join('.')}"`).join(', ')}`;
    const field = issue.path.length ? `"${issue.path.join('.')}"` : where;
    return `${field}: ${issue.message}`;
  });
  return new AppError('invalid_request', `Invalid ${where}: ${problems.join('; ')}`);
}
