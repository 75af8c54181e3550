import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';

/** A code lives at most this long (seconds); NIST SP 800-63B 5.1.3.2 allows 10 minutes. */
export const SMS_CODE_TTL_SECONDS = 10 * 60;
/** Wrong tries before a code is burned (counted before each check, parallel tries included). */
export const SMS_CODE_MAX_TRIES = 5;
/** Seconds between two texts of one transaction (the resend button). */
export const SMS_RESEND_COOLDOWN_SECONDS = 30;

/** Why a code is sent: to verify a new number, or to sign in (the messages' `purpose`). */
export type CodePurpose = 'verification' | 'sign-in';

/**
 * What a code is bound to: why it was sent (`verification` of a new number, `sign-in`), the
 * transaction that asked (the enrolment id, or the interaction uid of the login) and the account.
 * A code is looked up by all of them, so a code of another transaction never verifies.
 */
export interface CodeBinding {
  tenant: string;
  accountId: string;
  purpose: CodePurpose;
  transaction: string;
}

/** A code as kept in the short-lived state: its MAC (never the code), the number it went to, and when it dies. */
interface StoredCode {
  mac: string;
  phone: string;
  /** names this code's try counter, so a new code of the transaction starts with fresh tries */
  nonce: string;
  expiresAt: number;
}

export type Issue = { ok: true; code: string; commit(): Promise<void>; release(): Promise<void> } | { ok: false; retryAfter: number };
export type Check = { ok: true; phone: string } | { ok: false; burned: boolean };

const keys = {
  code: (b: CodeBinding) => tenantKey(b.tenant, 'sms', 'code', b.purpose, b.accountId, b.transaction),
  tries: (b: CodeBinding, nonce: string) => tenantKey(b.tenant, 'sms', 'tries', nonce),
  cooldown: (b: CodeBinding) => tenantKey(b.tenant, 'sms', 'cooldown', b.purpose, b.accountId, b.transaction),
};

/**
 * One-time codes sent by text: 6 digits from a CSPRNG, kept as an HMAC under a key derived from
 * the master key (six digits hash too easily to be kept as a plain hash: whoever read the store
 * would try all million), bound to a {@link CodeBinding}, valid {@link SMS_CODE_TTL_SECONDS},
 * single use (the record is deleted by compare-and-set against the exact value read, so of
 * parallel right answers one wins), burned after {@link SMS_CODE_MAX_TRIES} wrong tries (an atomic
 * counter moved before each check). Sending and its limits are the caller's (`sms-factors.ts`).
 */
export class SmsCodes {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly macKey: Buffer,
    private readonly clock: () => number,
  ) {}

  #mac(binding: CodeBinding, nonce: string, code: string): string {
    const { tenant, accountId, purpose, transaction } = binding;
    return createHmac('sha256', this.macKey).update(JSON.stringify([tenant, accountId, purpose, transaction, nonce, code])).digest('base64url');
  }

  /**
   * A new code for `binding`, unless one was sent less than {@link SMS_RESEND_COOLDOWN_SECONDS} ago
   * (then how long to wait). The cooldown is a key written only if absent, so of parallel requests
   * one gets a code. `commit` stores the code, replacing the transaction's previous one: the caller
   * calls it once the other limits passed, before sending; `release` gives the cooldown back when
   * they did not (nothing was sent).
   */
  async issue(binding: CodeBinding, phone: string): Promise<Issue> {
    const now = this.clock();
    const cooldownKey = keys.cooldown(binding);
    const until = String(now + SMS_RESEND_COOLDOWN_SECONDS * 1000);
    if (!(await this.ephemeral.set(cooldownKey, until, { ttlSeconds: SMS_RESEND_COOLDOWN_SECONDS, onlyIfAbsent: true }))) {
      const held = Number(await this.ephemeral.get(cooldownKey));
      return { ok: false, retryAfter: Number.isFinite(held) ? Math.max(1, Math.ceil((held - now) / 1000)) : 1 };
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const nonce = randomBytes(16).toString('base64url');
    const stored: StoredCode = { mac: this.#mac(binding, nonce, code), phone, nonce, expiresAt: now + SMS_CODE_TTL_SECONDS * 1000 };
    return {
      ok: true,
      code,
      commit: async () => {
        await this.ephemeral.set(keys.code(binding), JSON.stringify(stored), { ttlSeconds: SMS_CODE_TTL_SECONDS });
      },
      release: async () => {
        await this.ephemeral.compareAndSet(cooldownKey, until, undefined, 1);
      },
    };
  }

  /** Seconds until the transaction may send again (0: now). */
  async cooldown(binding: CodeBinding): Promise<number> {
    const held = Number(await this.ephemeral.get(keys.cooldown(binding)));
    return Number.isFinite(held) ? Math.max(0, Math.ceil((held - this.clock()) / 1000)) : 0;
  }

  /** The number the transaction's live code went to, if it has one. */
  async pendingPhone(binding: CodeBinding): Promise<string | undefined> {
    const raw = await this.ephemeral.get(keys.code(binding));
    const stored = raw === undefined ? undefined : (JSON.parse(raw) as StoredCode);
    return stored && stored.expiresAt > this.clock() ? stored.phone : undefined;
  }

  /**
   * Checks a typed code against the transaction's live code. The try is counted before the check;
   * the 6th try burns the code (deleted), right or wrong. A right code is taken: single use.
   */
  async check(binding: CodeBinding, typed: string): Promise<Check> {
    const key = keys.code(binding);
    const raw = await this.ephemeral.get(key);
    if (raw === undefined) return { ok: false, burned: false };
    const stored = JSON.parse(raw) as StoredCode;
    // The store's own expiry follows its clock; this one follows the app's (and a lagging store).
    if (stored.expiresAt <= this.clock()) {
      await this.ephemeral.compareAndSet(key, raw, undefined, 1);
      return { ok: false, burned: false };
    }
    const { tries } = await this.ephemeral.increment(keys.tries(binding, stored.nonce), { tries: 1 }, SMS_CODE_TTL_SECONDS);
    if ((tries ?? Number.POSITIVE_INFINITY) > SMS_CODE_MAX_TRIES) {
      await this.ephemeral.compareAndSet(key, raw, undefined, 1);
      return { ok: false, burned: true };
    }
    const code = typed.replace(/\s+/g, '');
    if (!/^[0-9]{6}$/.test(code)) return { ok: false, burned: false };
    const expected = Buffer.from(stored.mac);
    const given = Buffer.from(this.#mac(binding, stored.nonce, code));
    if (!timingSafeEqual(expected, given)) return { ok: false, burned: false };
    if (!(await this.ephemeral.compareAndSet(key, raw, undefined, 1))) return { ok: false, burned: false };
    return { ok: true, phone: stored.phone };
  }
}
