import { createHash } from 'node:crypto';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import { LinkTokens } from './link-tokens.js';

/** How long a reset link works (minutes). */
export const PASSWORD_RESET_MINUTES = 30;

/** What a reset link names: the account, and the password hash it had when the link was sent. */
export interface ResetGrant {
  accountId: string;
  /**
   * A digest of the hash at issue time (`passwordStampOf`): once the password changes by any path, every
   * older link is dead (a link mailed before a change must not undo it).
   */
  passwordStamp: string;
}

/** Single-use reset links (`LinkTokens`, kept hashed), per tenant, for {@link PASSWORD_RESET_MINUTES}. */
export class PasswordResets {
  readonly #links: LinkTokens<ResetGrant>;

  constructor(ephemeral: EphemeralStore, clock: () => number) {
    this.#links = new LinkTokens(ephemeral, 'password-reset', clock);
  }

  issue(tenant: string, grant: ResetGrant): Promise<{ token: string }> {
    return this.#links.issue(tenant, grant, PASSWORD_RESET_MINUTES * 60);
  }

  peek(tenant: string, token: string): Promise<ResetGrant | undefined> {
    return this.#links.peek(tenant, token);
  }

  consume(tenant: string, token: string): Promise<ResetGrant | undefined> {
    return this.#links.consume(tenant, token);
  }
}

/** The stamp of a password hash: a SHA-256 of it (never the hash itself in the short-lived store); `none` without a password. */
export function passwordStampOf(passwordHash: string | undefined): string {
  return passwordHash === undefined ? 'none' : createHash('sha256').update(passwordHash).digest('base64url');
}
