/**
 * A backend (the store, or the short-lived state's Redis) could not be reached or failed: callers
 * fail closed and the request is answered 503. Both the Koa error handler (`src/http/errors.ts`) and
 * oidc-provider read the status from the error itself: the provider's error handlers answer
 * `err.statusCode || 500`, so an adapter throwing this inside a protocol request (the fast path
 * included) gives 503 rather than 500. `expose` stays false: the message names hosts and causes,
 * which are for the log, not for the client.
 */
export abstract class BackendUnavailableError extends Error {
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = false;
}
