import { randomBytes } from 'node:crypto';
import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEphemeral, openStore } from '../../adapters/index.js';
import { StoreEphemeral } from '../../adapters/ephemeral-store.js';
import type { Store } from '../../adapters/store.js';
import { POW_TTL_SECONDS, ProofOfWork } from '../../src/authn/proof-of-work.js';
import { redisServerAvailable, redisSettings, startRedisServer } from '../helpers/redis-server.js';

/**
 * The challenge and its check on their own, over the short-lived store, solved by altcha-lib's own
 * solver (what the widget runs in the browser, minus the workers). A low difficulty keeps it quick:
 * the check does not depend on it.
 */
let store: Store;
let ephemeral: StoreEphemeral;
let now = Date.now();
const clock = () => now;
const rootKey = randomBytes(32);
let pow: ProofOfWork;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

async function solved(challenge: Challenge): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('the solver gave up');
  return encode({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution });
}

beforeAll(async () => {
  store = await openStore({ kind: 'memory', dataDir: '', mongodb: { database: 'unused' } });
  ephemeral = new StoreEphemeral(store, clock);
  pow = new ProofOfWork(ephemeral, rootKey, clock);
});
afterAll(() => store.close());

describe('proof-of-work challenges', () => {
  it('issues a signed PBKDF2 challenge bound to the tenant and purpose, expiring in ten minutes', async () => {
    const challenge = await pow.issue('acme', 'sign_in', 1000);
    expect(challenge.parameters).toMatchObject({ algorithm: 'PBKDF2/SHA-256', cost: 1000, data: { tenant: 'acme', purpose: 'sign_in' } });
    expect(challenge.parameters.expiresAt).toBe(Math.floor(now / 1000) + POW_TTL_SECONDS);
    expect(challenge.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(challenge.parameters.keySignature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps the secret counter between half the difficulty and all of it', async () => {
    for (let i = 0; i < 3; i += 1) {
      const challenge = await pow.issue('acme', 'sms', 600);
      const solution = await solveChallenge({ challenge, deriveKey });
      expect(solution!.counter).toBeGreaterThanOrEqual(300);
      expect(solution!.counter).toBeLessThanOrEqual(600);
    }
  });

  it('accepts a real solution once', async () => {
    const payload = await solved(await pow.issue('acme', 'sign_in', 500));
    await expect(pow.verify('acme', 'sign_in', payload)).resolves.toEqual({ ok: true });
    await expect(pow.verify('acme', 'sign_in', payload)).resolves.toEqual({ ok: false, reason: 'replayed' });
  });

  it('accepts one of twenty parallel uses of one solution', async () => {
    const payload = await solved(await pow.issue('acme', 'sign_in', 500));
    const verdicts = await Promise.all(Array.from({ length: 20 }, () => pow.verify('acme', 'sign_in', payload)));
    expect(verdicts.filter((verdict) => verdict.ok)).toHaveLength(1);
    expect(verdicts.filter((verdict) => !verdict.ok && verdict.reason === 'replayed')).toHaveLength(19);
  });

  it('refuses a missing, non-string, oversized, non-base64 or non-JSON answer', async () => {
    await expect(pow.verify('acme', 'sign_in', undefined)).resolves.toEqual({ ok: false, reason: 'missing' });
    await expect(pow.verify('acme', 'sign_in', '')).resolves.toEqual({ ok: false, reason: 'missing' });
    await expect(pow.verify('acme', 'sign_in', ['a', 'b'])).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(pow.verify('acme', 'sign_in', { challenge: {} })).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(pow.verify('acme', 'sign_in', 'A'.repeat(5000))).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(pow.verify('acme', 'sign_in', '%%%not base64')).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(pow.verify('acme', 'sign_in', encode('a string'))).resolves.toEqual({ ok: false, reason: 'malformed' });
    await expect(pow.verify('acme', 'sign_in', encode({ __proto__: { ok: true }, challenge: null }))).resolves.toEqual({ ok: false, reason: 'malformed' });
  });

  it("refuses the widget's test mode and a challenge of another algorithm", async () => {
    await expect(pow.verify('acme', 'sign_in', encode({ challenge: null, solution: null, test: true }))).resolves.toEqual({ ok: false, reason: 'malformed' });
    const challenge = await pow.issue('acme', 'sign_in', 500);
    const payload = JSON.parse(Buffer.from(await solved(challenge), 'base64').toString()) as { challenge: Challenge };
    payload.challenge.parameters.algorithm = 'SHA-256';
    await expect(pow.verify('acme', 'sign_in', encode(payload))).resolves.toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a tampered challenge or a wrong solution', async () => {
    const challenge = await pow.issue('acme', 'sign_in', 500);
    const good = JSON.parse(Buffer.from(await solved(challenge), 'base64').toString()) as { challenge: Challenge; solution: { counter: number; derivedKey: string } };
    const edited = (change: (copy: typeof good) => void) => {
      const copy = structuredClone(good);
      change(copy);
      return encode(copy);
    };
    // A later expiry, another prefix (an easier puzzle), another purpose: the signature no longer matches.
    await expect(pow.verify('acme', 'sign_in', edited((c) => void (c.challenge.parameters.expiresAt! += 3600)))).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(pow.verify('acme', 'sign_in', edited((c) => void (c.challenge.parameters.keyPrefix = '0'.repeat(32))))).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(pow.verify('acme', 'sms', edited((c) => void (c.challenge.parameters.data = { tenant: 'acme', purpose: 'sms' })))).resolves.toEqual({ ok: false, reason: 'invalid' });
    await expect(pow.verify('acme', 'sign_in', edited((c) => void (c.challenge.signature = '0'.repeat(64))))).resolves.toEqual({ ok: false, reason: 'invalid' });
    // Another counter or key: the key signature does not match.
    await expect(pow.verify('acme', 'sign_in', edited((c) => void (c.solution.derivedKey = '0'.repeat(64))))).resolves.toEqual({ ok: false, reason: 'invalid' });
    // The real solution still works afterwards: refusals use nothing up.
    await expect(pow.verify('acme', 'sign_in', encode(good))).resolves.toEqual({ ok: true });
  });

  it("refuses another tenant's challenge, and another form's", async () => {
    const other = await solved(await pow.issue('other', 'sign_in', 500));
    await expect(pow.verify('acme', 'sign_in', other)).resolves.toEqual({ ok: false, reason: 'invalid' });
    const sms = await solved(await pow.issue('acme', 'sms', 500));
    await expect(pow.verify('acme', 'sign_in', sms)).resolves.toEqual({ ok: false, reason: 'wrong_purpose' });
    // Neither refusal used them up where they belong.
    await expect(pow.verify('other', 'sign_in', other)).resolves.toEqual({ ok: true });
    await expect(pow.verify('acme', 'sms', sms)).resolves.toEqual({ ok: true });
  });

  it('refuses a challenge of another process key (a constant key would pass here)', async () => {
    const elsewhere = new ProofOfWork(ephemeral, randomBytes(32), clock);
    const payload = await solved(await elsewhere.issue('acme', 'sign_in', 500));
    await expect(pow.verify('acme', 'sign_in', payload)).resolves.toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses an expired challenge', async () => {
    const issuedAt = now;
    const payload = await solved(await pow.issue('acme', 'sign_in', 500));
    now = issuedAt + POW_TTL_SECONDS * 1000;
    try {
      await expect(pow.verify('acme', 'sign_in', payload)).resolves.toEqual({ ok: false, reason: 'expired' });
    } finally {
      now = issuedAt;
    }
    // Issued in the past by the system clock too: the library's own expiry check refuses it.
    const past = new ProofOfWork(ephemeral, rootKey, () => Date.now() - (POW_TTL_SECONDS + 5) * 1000);
    const stale = await solved(await past.issue('acme', 'sign_in', 500));
    await expect(new ProofOfWork(ephemeral, rootKey, () => Date.now() - (POW_TTL_SECONDS + 5) * 1000).verify('acme', 'sign_in', stale)).resolves.toEqual({ ok: false, reason: 'expired' });
  });
});

// Several instances share used solutions through Redis: the same one-winner rule holds there.
describe.runIf(redisServerAvailable())('single use over Redis', () => {
  it('accepts one of twenty parallel uses of one solution, across two instances', async () => {
    const server = await startRedisServer();
    const [first, second] = await Promise.all([openEphemeral(redisSettings(server.url)), openEphemeral(redisSettings(server.url))]);
    try {
      const instances = [new ProofOfWork(first, rootKey, clock), new ProofOfWork(second, rootKey, clock)];
      const payload = await solved(await instances[0]!.issue('acme', 'sms', 500));
      const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => instances[i % 2]!.verify('acme', 'sms', payload)));
      expect(verdicts.filter((verdict) => verdict.ok)).toHaveLength(1);
      expect(await first.get('{acme}:pow:' + (JSON.parse(Buffer.from(payload, 'base64').toString()) as { challenge: { signature: string } }).challenge.signature)).toBe('1');
    } finally {
      await Promise.all([first.close(), second.close()]);
      await server.close();
    }
  });
});
