import { describe, expect, it } from 'vitest';
import { acceptedTimeStep, normaliseTotpCode, totpSettings } from '../../src/authn/totp.js';

/**
 * The TOTP arithmetic on its own: RFC 6238's test vectors and the accepted window. The flows that
 * store factors and refuse replays are in mfa-factors.test.ts.
 */

/** RFC 6238 Appendix B: the SHA-1 rows, for the 20-byte ASCII secret "12345678901234567890". */
const rfcSecret = new TextEncoder().encode('12345678901234567890');
const rfcVectors: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  it('is configured as the issue asks: SHA-1, 6 digits, 30-second steps', () => {
    expect(totpSettings).toEqual({ algorithm: 'sha1', digits: 6, period: 30 });
  });

  it.each(rfcVectors)('accepts the RFC 6238 code at T = %i s with our configuration (8 digits for the vectors)', async (seconds, code) => {
    expect(await acceptedTimeStep(rfcSecret, code, seconds * 1000, { digits: 8 })).toBe(Math.floor(seconds / 30));
  });

  it('refuses an RFC 6238 code with one digit changed', async () => {
    expect(await acceptedTimeStep(rfcSecret, '94287083', 59_000, { digits: 8 })).toBeUndefined();
  });

  it('accepts the current step and one step back; refuses two steps back and one step ahead', async () => {
    // The code of step 1111111109 / 30 = 37037036, checked from other moments.
    const step = Math.floor(1111111109 / 30);
    const code = '07081804';
    const at = (steps: number) => (step + steps) * 30_000 + 10_000;
    expect(await acceptedTimeStep(rfcSecret, code, at(0), { digits: 8 })).toBe(step);
    expect(await acceptedTimeStep(rfcSecret, code, at(1), { digits: 8 })).toBe(step);
    expect(await acceptedTimeStep(rfcSecret, code, at(2), { digits: 8 })).toBeUndefined();
    expect(await acceptedTimeStep(rfcSecret, code, at(-1), { digits: 8 })).toBeUndefined();
  });

  it('refuses a step at or before the last accepted one (replay)', async () => {
    const seconds = 1111111109;
    const step = Math.floor(seconds / 30);
    expect(await acceptedTimeStep(rfcSecret, '07081804', seconds * 1000, { digits: 8, after: step })).toBeUndefined();
    expect(await acceptedTimeStep(rfcSecret, '07081804', seconds * 1000, { digits: 8, after: step - 1 })).toBe(step);
  });

  it('normalises typed codes: spaces are dropped; anything but 6 digits is no code', () => {
    expect(normaliseTotpCode(' 123 456 ')).toBe('123456');
    expect(normaliseTotpCode('12345')).toBeUndefined();
    expect(normaliseTotpCode('1234567')).toBeUndefined();
    expect(normaliseTotpCode('12345a')).toBeUndefined();
    expect(normaliseTotpCode('１２３４５６')).toBeUndefined();
    expect(normaliseTotpCode('1'.repeat(10_000))).toBeUndefined();
  });
});
