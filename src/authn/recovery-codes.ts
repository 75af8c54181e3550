import { createHash, randomBytes } from 'node:crypto';
import type { MfaFactorRepository } from '../domain/mfa-factors.js';

/** Codes per set: enough for a long time without an authenticator, few enough to write down. */
export const RECOVERY_CODE_COUNT = 10;
/**
 * Crockford's base32 alphabet, lower case: no i, l, o or u, so nothing is misread; 16 characters
 * carry 80 bits, which makes a fast hash at rest enough (no offline search through 2^80 codes).
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CODE_LENGTH = 16;
const codePattern = /^[0-9a-hjkmnp-tv-z]{16}$/;

function newCode(): string {
  // 256 is a multiple of 32, so taking each byte modulo 32 picks every character equally often.
  const chars = [...randomBytes(CODE_LENGTH)].map((byte) => ALPHABET[byte % 32]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/**
 * A typed code in its stored form: lower case, without spaces and dashes, with the letters people
 * mistake for digits read as those digits (Crockford: o is 0, i and l are 1); undefined when it
 * cannot be a code.
 */
export function normaliseRecoveryCode(input: string): string | undefined {
  if (input.length > 64) return undefined;
  const code = input.toLowerCase().replace(/[\s-]+/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  return codePattern.test(code) ? code : undefined;
}

function hashCode(normalised: string): string {
  return `sha256:${createHash('sha256').update(normalised, 'utf8').digest('base64url')}`;
}

/**
 * Recovery codes: a set of {@link RECOVERY_CODE_COUNT} single-use codes per user, for when the
 * authenticator is lost. Shown once, stored hashed; a new set voids the old one. Callers throttle
 * wrong codes (`mfa-throttle.ts`) and audit uses.
 */
export class RecoveryCodeService {
  constructor(
    private readonly factors: MfaFactorRepository,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A new set for the user, replacing any old one; the codes are returned once, here. */
  async generate(tenant: string, userId: string): Promise<string[]> {
    const codes = new Set<string>();
    while (codes.size < RECOVERY_CODE_COUNT) codes.add(newCode());
    const list = [...codes];
    await this.factors.replaceRecoveryCodes(tenant, userId, list.map((code) => hashCode(normaliseRecoveryCode(code)!)), new Date(this.clock()));
    return list;
  }

  /** Uses a code: true once per code, also when the same code arrives in parallel requests. */
  async use(tenant: string, userId: string, code: string): Promise<boolean> {
    const normalised = normaliseRecoveryCode(code);
    if (normalised === undefined) return false;
    return this.factors.useRecoveryCode(tenant, userId, hashCode(normalised), new Date(this.clock()));
  }
}
