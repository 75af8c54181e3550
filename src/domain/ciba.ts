/**
 * The CIBA approval API's resource (RFC 8707) and scope: a user's access token for it lets the
 * tenant's own app list and decide that user's pending CIBA requests (docs/ciba.md). Only
 * first-party clients may ask for it: a third-party app the user signs in to must not be able to
 * approve other clients' requests on the user's behalf.
 */
export function cibaApprovalResource(issuer: string): string {
  return `${issuer}/ciba`;
}

export const CIBA_APPROVE_SCOPE = 'ciba:approve';

/** An approval token's lifetime: minutes, like the requests it decides. */
export const CIBA_APPROVAL_TOKEN_TTL_SECONDS = 10 * 60;

/** How old the sign-in behind an approval may be: CIBA authenticates the user now, not last week. */
export const MAX_APPROVAL_SIGN_IN_AGE_SECONDS = 10 * 60;
