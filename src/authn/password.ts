import argon2 from 'argon2';
import { Semaphore } from './semaphore.js';

export interface PasswordHashParams {
  /** KiB */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  /** argon2 computations allowed at once; keeps a password flood from starving other requests */
  maxConcurrentHashes: number;
}

/** Longest password we will hash; NIST asks for at least 64, and argon2 input is otherwise unbounded. */
export const MAX_PASSWORD_LENGTH = 1024;

export interface VerifyResult {
  ok: boolean;
  /** the stored hash uses weaker or different parameters than configured: store a new hash */
  needsRehash: boolean;
}

/**
 * argon2id hashing with the configured (OWASP or stronger) parameters. Verification of an unknown
 * user runs against a dummy hash so the response takes as long as for a real one.
 */
export class PasswordHasher {
  readonly #options: argon2.HashOptions & { raw?: false };
  readonly #limit: Semaphore;
  #dummyHash: Promise<string> | undefined;

  constructor(params: PasswordHashParams) {
    this.#options = {
      type: argon2.argon2id,
      memoryCost: params.memoryCost,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
    };
    this.#limit = new Semaphore(params.maxConcurrentHashes);
  }

  /** argon2 computations running and waiting now, and how many may run at once (metrics) */
  get load(): { active: number; waiting: number; limit: number } {
    return { active: this.#limit.active, waiting: this.#limit.waiting, limit: this.#limit.limit };
  }

  async hash(password: string): Promise<string> {
    if (password.length > MAX_PASSWORD_LENGTH) throw new RangeError(`passwords are at most ${MAX_PASSWORD_LENGTH} characters`);
    return this.#limit.run(() => argon2.hash(password, this.#options));
  }

  /** Verifies `password` against `hash`; with no hash (unknown user) burns the same time and fails. */
  async verify(hash: string | undefined, password: string): Promise<VerifyResult> {
    const candidate = password.length > MAX_PASSWORD_LENGTH ? '' : password;
    const target = hash ?? (await this.#dummy());
    let ok = false;
    try {
      ok = await this.#limit.run(() => argon2.verify(target, candidate));
    } catch {
      ok = false; // a malformed stored hash is a failed login, never a crash
    }
    if (!hash || !ok || password.length > MAX_PASSWORD_LENGTH) return { ok: false, needsRehash: false };
    return { ok: true, needsRehash: !hash.startsWith('$argon2id$') || argon2.needsRehash(hash, this.#options) };
  }

  #dummy(): Promise<string> {
    this.#dummyHash ??= this.hash(`dummy-${Math.random()}`);
    return this.#dummyHash;
  }
}
