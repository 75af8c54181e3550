import { describe, expect, it } from 'vitest';
import { listVariants } from '../../src/authn/breached-passwords.js';
import { CommonPasswords } from '../../src/authn/common-passwords.js';
import { MAX_PASSWORD_LENGTH } from '../../src/authn/password.js';
import { acceptablePassword, identityOf, type PasswordAcceptanceDeps } from '../../src/authn/password-acceptance.js';

const warnings: string[] = [];
/** The real shipped list; the range API is exercised over HTTP in test/flows/breached-passwords.test.ts. */
const deps: PasswordAcceptanceDeps = { common: new CommonPasswords(), logger: { warn: (_object, message) => void warnings.push(message) } };
const alice = { username: 'alice', email: 'alice.liddell@example.com', name: 'Alice Liddell' };

describe('acceptablePassword', () => {
  it('accepts a long, uncommon password', async () => {
    expect(await acceptablePassword(deps, undefined, 'violet kestrel under eleven moons', alice)).toEqual({ ok: true });
  });

  it('refuses too short a password, by the tenant minimum and never under 8, counting code points', async () => {
    expect(await acceptablePassword(deps, undefined, 'k3$tr£l', alice)).toMatchObject({ ok: false, reason: 'too_short', message: 'Use at least 8 characters.' });
    expect(await acceptablePassword(deps, { password: { minLength: 14 } }, 'kestrel-violet', alice)).toEqual({ ok: true });
    expect(await acceptablePassword(deps, { password: { minLength: 14 } }, 'kestrelviolet', alice)).toMatchObject({ reason: 'too_short', message: 'Use at least 14 characters.' });
    // Seven emoji are seven characters as a person counts them (fourteen UTF-16 units).
    expect(await acceptablePassword(deps, undefined, '🦊🦊🦊🦊🦊🦊🦊', alice)).toMatchObject({ reason: 'too_short' });
    expect(await acceptablePassword(deps, { password: { minLength: 2 } }, 'q7#vX', alice)).toMatchObject({ reason: 'too_short', message: 'Use at least 8 characters.' });
  });

  it('refuses more than the argon2 input cap before anything else', async () => {
    expect(await acceptablePassword(deps, undefined, 'x'.repeat(MAX_PASSWORD_LENGTH + 1), alice)).toMatchObject({ reason: 'too_long', message: `Use at most ${MAX_PASSWORD_LENGTH} characters.` });
    expect(await acceptablePassword(deps, undefined, 'violet kestrel '.repeat(68).slice(0, MAX_PASSWORD_LENGTH), alice)).toEqual({ ok: true });
  });

  it('refuses the most common passwords, in any case and with digits or symbols added at the end', async () => {
    for (const common of ['password', 'PASSWORD', '12345678', 'qwertyuiop', 'Sunshine2024!', 'iloveyou!!', 'Football1']) {
      const verdict = await acceptablePassword(deps, undefined, common, alice);
      expect(verdict, common).toMatchObject({ ok: false, reason: 'breached' });
      if (!verdict.ok) expect(verdict.message).toContain('choose another');
    }
    expect(listVariants('Dragon99!')).toEqual(['dragon99!', 'dragon']);
    // Three letters left is too little to call it a word of the list.
    expect(listVariants('abc12345')).toEqual(['abc12345']);
  });

  it('refuses a password made of the username, e-mail address or name', async () => {
    for (const own of ['alice1234!', 'ALICE.LIDDELL@example.com', 'alice.liddell', 'Liddell1865', '!!AliceLiddell!!']) {
      expect(await acceptablePassword(deps, undefined, own, alice), own).toMatchObject({ ok: false, reason: 'like_identity' });
    }
    // Containing a name among other words is fine; so is an empty identity.
    expect(await acceptablePassword(deps, undefined, 'alice walks the kestrel home', alice)).toEqual({ ok: true });
    expect(await acceptablePassword(deps, undefined, 'Liddell1865', {})).toEqual({ ok: true });
    expect(identityOf({ username: 'bob', givenName: 'Robert', familyName: 'Tables' })).toEqual({ username: 'bob', email: undefined, name: 'Robert Tables' });
  });

  it('"off" skips the list; an unknown absent value means "list"', async () => {
    expect(await acceptablePassword(deps, { password: { breachedCheck: 'off' } }, 'password1', alice)).toEqual({ ok: true });
    expect(await acceptablePassword(deps, { password: { minLength: 9 } }, 'password1', alice)).toMatchObject({ reason: 'breached' });
    expect(await acceptablePassword(deps, { password: { breachedCheck: 'list' } }, 'password1', alice)).toMatchObject({ reason: 'breached' });
  });

  it('"range_api" without a configured service answers from the list and says so in the log', async () => {
    warnings.length = 0;
    expect(await acceptablePassword(deps, { password: { breachedCheck: 'range_api' } }, 'violet kestrel moons', alice)).toEqual({ ok: true });
    expect(await acceptablePassword(deps, { password: { breachedCheck: 'range_api' } }, 'monkey123', alice)).toMatchObject({ reason: 'breached' });
    expect(warnings.join('\n')).toContain('no range API is configured');
  });

  it('loads the list once, lazily, for every caller at once', async () => {
    const list = new CommonPasswords();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => list.has(i % 2 ? 'letmein' : 'violet kestrel')));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(answers.filter(Boolean)).toHaveLength(10);
    expect(await list.size()).toBeGreaterThan(40000);
  });
});
