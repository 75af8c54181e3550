import { createHmac } from 'node:crypto';
import { createChallenge, randomInt, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { z } from 'zod';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { ProofOfWorkPurpose } from '../domain/proof-of-work-settings.js';

/** The puzzle's key derivation: the browser's widget solves it with WebCrypto in a worker (no WebAssembly). */
export const POW_ALGORITHM = 'PBKDF2/SHA-256';
/** PBKDF2 rounds per try: enough that a try is real work, few enough that issuing a challenge (one try) costs the server well under a millisecond. */
export const POW_COST = 1_000;
/** How long a challenge can be solved and used (seconds). */
export const POW_TTL_SECONDS = 10 * 60;
/** A submitted solution is a base64 JSON of a few hundred bytes; anything much longer is not ours. */
const MAX_PAYLOAD_LENGTH = 4_096;

const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));

/**
 * What the widget sends back (base64 of this JSON): the challenge as issued and the solution. The
 * parameters must be exactly what {@link ProofOfWork.issue} signs, so nothing unexpected (another
 * algorithm, a missing key signature, a mode of the widget such as `test`) reaches the library.
 */
const submitted = z
  .object({
    challenge: z
      .object({
        parameters: z
          .object({
            algorithm: z.literal(POW_ALGORITHM),
            cost: z.literal(POW_COST),
            keyLength: z.literal(32),
            keyPrefix: hex(32),
            keySignature: hex(64),
            nonce: hex(32),
            salt: hex(32),
            expiresAt: z.number().int().positive(),
            data: z.object({ tenant: z.string().max(63), purpose: z.string().max(32) }).strict(),
          })
          .strict(),
        signature: hex(64),
      })
      .strict(),
    solution: z.object({ counter: z.number().int().min(0).max(0xffffffff), derivedKey: hex(64), time: z.number().optional() }).strict(),
  })
  .strict();

/** Why a solution was refused: none sent, not ours in shape, not valid (tampered, another tenant's), expired, another form's, already used. */
export type PowRefusal = 'missing' | 'malformed' | 'invalid' | 'expired' | 'wrong_purpose' | 'replayed';
export type PowVerdict = { ok: true } | { ok: false; reason: PowRefusal };

/**
 * Proof-of-work challenges (ALTCHA's v2 format, made and checked by `altcha-lib`): the server
 * draws a secret counter, derives the key for it and publishes the key's prefix; the browser tries
 * counters from 0 until a derived key matches. The challenge is signed with HMAC under a key of the
 * tenant's, derived from the master key (so another tenant's challenge, or an edited one, fails the
 * signature), and names the tenant and the purpose it was issued for. The derived key is signed
 * too, so checking a solution costs one HMAC, not a key derivation.
 *
 * A solution is single use: once verified, the challenge's signature is written to the short-lived
 * store with `onlyIfAbsent` until the challenge expires, so of parallel requests with one solution
 * exactly one gets past. Invalid solutions are refused before that write, so they cannot fill it.
 */
export class ProofOfWork {
  readonly #signatureKey: Buffer;
  readonly #keySignatureKey: Buffer;

  constructor(
    private readonly ephemeral: EphemeralStore,
    /** 32 bytes of its own, derived from the master key (`app-context.ts`) */
    rootKey: Buffer,
    private readonly clock: () => number = Date.now,
  ) {
    this.#signatureKey = createHmac('sha256', rootKey).update('challenge signature').digest();
    this.#keySignatureKey = createHmac('sha256', rootKey).update('derived key signature').digest();
  }

  /** The secrets of one tenant (the library takes strings). Tenant ids contain no NUL. */
  #secrets(tenant: string): { hmacSignatureSecret: string; hmacKeySignatureSecret: string } {
    return {
      hmacSignatureSecret: createHmac('sha256', this.#signatureKey).update(`${tenant}\0`).digest('hex'),
      hmacKeySignatureSecret: createHmac('sha256', this.#keySignatureKey).update(`${tenant}\0`).digest('hex'),
    };
  }

  /** A new challenge for `purpose` at `tenant`, asking for a counter of at most `difficulty`. */
  async issue(tenant: string, purpose: ProofOfWorkPurpose, difficulty: number): Promise<Challenge> {
    return createChallenge({
      algorithm: POW_ALGORITHM,
      cost: POW_COST,
      // Between half and all of the difficulty: never trivially small, and a solve's time varies by at most two.
      counter: randomInt(difficulty, Math.ceil(difficulty / 2)),
      deriveKey,
      data: { tenant, purpose },
      expiresAt: Math.floor(this.clock() / 1000) + POW_TTL_SECONDS,
      ...this.#secrets(tenant),
    });
  }

  /**
   * Checks a submitted solution (the form field the widget fills: base64 of its JSON) for
   * `purpose` at `tenant`, and uses it up. Never throws for bad input; throws only when the
   * short-lived store fails (the caller's error handling answers 503: a check that cannot run never passes).
   */
  async verify(tenant: string, purpose: ProofOfWorkPurpose, payload: unknown): Promise<PowVerdict> {
    if (payload === undefined || payload === '') return { ok: false, reason: 'missing' };
    if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD_LENGTH) return { ok: false, reason: 'malformed' };
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const parsed = submitted.safeParse(json);
    if (!parsed.success) return { ok: false, reason: 'malformed' };
    const { challenge, solution } = parsed.data;
    const now = this.clock();
    // Our clock first (tests move it); the library checks against the system clock as well.
    if (challenge.parameters.expiresAt * 1000 <= now) return { ok: false, reason: 'expired' };
    const result = await verifySolution({ challenge, solution, deriveKey, ...this.#secrets(tenant) });
    if (result.expired) return { ok: false, reason: 'expired' };
    if (!result.verified) return { ok: false, reason: 'invalid' };
    // Signed by this tenant's key, so `data` is what we wrote; a challenge of another form is refused.
    if (challenge.parameters.data.tenant !== tenant || challenge.parameters.data.purpose !== purpose) return { ok: false, reason: 'wrong_purpose' };
    const ttlSeconds = Math.max(1, Math.ceil(challenge.parameters.expiresAt - now / 1000));
    const first = await this.ephemeral.set(tenantKey(tenant, 'pow', challenge.signature), '1', { ttlSeconds, onlyIfAbsent: true });
    return first ? { ok: true } : { ok: false, reason: 'replayed' };
  }
}
