import type { Logger } from 'pino';
import type { ChangeFeed } from '../../adapters/change-feed.js';

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

/**
 * Tells every instance that a user's pending CIBA requests changed (one was made, decided or
 * expired), so the account console's open pages of that user refresh their list at once
 * (`src/account/routes/ciba.ts`). Best effort: the pages also refresh on a timer, so a feed that
 * cannot take the message is logged, never an error for the request that caused it.
 */
export async function announceCibaChange(deps: { changes: ChangeFeed; logger: Pick<Logger, 'warn'> }, tenant: string, accountId: string): Promise<void> {
  try {
    await deps.changes.publish({ tenant, kind: 'ciba', id: accountId });
  } catch (error) {
    deps.logger.warn({ err: error, tenant }, 'could not announce a CIBA change on the change feed; open approval pages refresh on their timer');
  }
}

/** Calls `listener` whenever the user's pending CIBA requests change, on any instance; answers the unsubscribe. */
export function watchCibaChanges(changes: ChangeFeed, tenant: string, accountId: string, listener: () => void): () => void {
  return changes.subscribe((change) => {
    // A flush (a lost Redis subscription) may have hidden one: refresh then too.
    if ((change.kind === 'ciba' && change.tenant === tenant && change.id === accountId) || change.kind === 'flush') listener();
  });
}
