import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import { LinkTokens } from './link-tokens.js';

/** How long a verification link and code live (minutes): long enough to switch to the mailbox. */
export const EMAIL_VERIFICATION_MINUTES = 30;
/** Wrong codes before the code is dead (counted before each check, parallel tries included). */
export const EMAIL_CODE_MAX_TRIES = 5;

/** What a verification proves: the account's current address (`verify`), or a new one to replace it (`change`). */
export type VerificationPurpose = 'verify' | 'change';

export interface Verification {
  accountId: string;
  address: string;
  purpose: VerificationPurpose;
}

/** The account's one pending verification: where it went, the code's MAC (never the code) and the nonce that names it. */
interface Pending extends Verification {
  nonce: string;
  mac: string;
  expiresAt: number;
}

export type CodeCheck = { ok: true; verification: Verification } | { ok: false; burned: boolean };

/**
 * Proving an e-mail address, per tenant, account and address: a single-use link (`LinkTokens`,
 * kept hashed) and a 6-digit code (kept as an HMAC under a key derived from the master key, as SMS
 * codes are: a plain hash of a million values is no protection), both for
 * {@link EMAIL_VERIFICATION_MINUTES}. An account has one pending verification: a new one replaces
 * it, and the link or code of the old one stops working. Using either the link or the code ends both
 * (the pending record is deleted by compare-and-set against the exact value read, so of parallel
 * right answers one wins). After {@link EMAIL_CODE_MAX_TRIES} wrong codes the pending record is
 * deleted: the code is dead, and so is its link.
 */
export class EmailVerifications {
  readonly #links: LinkTokens<{ accountId: string; nonce: string }>;

  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly macKey: Buffer,
    private readonly clock: () => number,
  ) {
    this.#links = new LinkTokens(ephemeral, 'email-verify', clock);
  }

  #mac(tenant: string, pending: Omit<Pending, 'mac' | 'expiresAt'>, code: string): string {
    return createHmac('sha256', this.macKey).update(JSON.stringify([tenant, pending.accountId, pending.address, pending.purpose, pending.nonce, code])).digest('base64url');
  }

  #pendingKey(tenant: string, accountId: string): string {
    return tenantKey(tenant, 'email', 'pending', accountId);
  }

  /** A new link token and code for `verification`, replacing the account's pending one. */
  async start(tenant: string, verification: Verification): Promise<{ token: string; code: string }> {
    const ttlSeconds = EMAIL_VERIFICATION_MINUTES * 60;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const nonce = randomBytes(16).toString('base64url');
    const base = { accountId: verification.accountId, address: verification.address, purpose: verification.purpose, nonce };
    const pending: Pending = { ...base, mac: this.#mac(tenant, base, code), expiresAt: this.clock() + ttlSeconds * 1000 };
    await this.ephemeral.set(this.#pendingKey(tenant, verification.accountId), JSON.stringify(pending), { ttlSeconds });
    const { token } = await this.#links.issue(tenant, { accountId: verification.accountId, nonce }, ttlSeconds);
    return { token, code };
  }

  async #pending(tenant: string, accountId: string): Promise<{ raw: string; pending: Pending } | undefined> {
    const raw = await this.ephemeral.get(this.#pendingKey(tenant, accountId));
    if (raw === undefined) return undefined;
    const pending = JSON.parse(raw) as Pending;
    return pending.expiresAt > this.clock() ? { raw, pending } : undefined;
  }

  /** The account's pending verification (for the console's "enter the code" page). */
  async pendingOf(tenant: string, accountId: string): Promise<Verification | undefined> {
    const found = await this.#pending(tenant, accountId);
    return found && verificationOf(found.pending);
  }

  /** What a link would verify, without using it (the confirm page a mail scanner may open). */
  async peekLink(tenant: string, token: string): Promise<Verification | undefined> {
    const link = await this.#links.peek(tenant, token);
    const found = link && (await this.#pending(tenant, link.accountId));
    return found && found.pending.nonce === link.nonce ? verificationOf(found.pending) : undefined;
  }

  /** Uses a link: its verification once, if it is still the account's pending one. */
  async consumeLink(tenant: string, token: string): Promise<Verification | undefined> {
    const link = await this.#links.consume(tenant, token);
    const found = link && (await this.#pending(tenant, link.accountId));
    if (!found || found.pending.nonce !== link.nonce) return undefined;
    return (await this.ephemeral.compareAndSet(this.#pendingKey(tenant, link.accountId), found.raw, undefined, 1)) ? verificationOf(found.pending) : undefined;
  }

  /** Checks a typed code against the account's pending verification; the try is counted first. */
  async checkCode(tenant: string, accountId: string, typed: string): Promise<CodeCheck> {
    const found = await this.#pending(tenant, accountId);
    if (!found) return { ok: false, burned: false };
    const key = this.#pendingKey(tenant, accountId);
    const { tries } = await this.ephemeral.increment(tenantKey(tenant, 'email', 'tries', found.pending.nonce), { tries: 1 }, EMAIL_VERIFICATION_MINUTES * 60);
    if ((tries ?? Number.POSITIVE_INFINITY) > EMAIL_CODE_MAX_TRIES) {
      await this.ephemeral.compareAndSet(key, found.raw, undefined, 1);
      return { ok: false, burned: true };
    }
    const code = typed.replace(/\s+/g, '');
    if (!/^[0-9]{6}$/.test(code)) return { ok: false, burned: false };
    const expected = Buffer.from(found.pending.mac);
    const given = Buffer.from(this.#mac(tenant, found.pending, code));
    if (!timingSafeEqual(expected, given)) return { ok: false, burned: false };
    if (!(await this.ephemeral.compareAndSet(key, found.raw, undefined, 1))) return { ok: false, burned: false };
    return { ok: true, verification: verificationOf(found.pending) };
  }
}

function verificationOf(pending: Pending): Verification {
  return { accountId: pending.accountId, address: pending.address, purpose: pending.purpose };
}
