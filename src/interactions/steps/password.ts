import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../../authn/password.js';
import { normaliseUsername } from '../../domain/users.js';
import { parseFields } from '../../http/forms.js';
import type { InteractionStep, StepContext } from '../step.js';
import { credentialFingerprint, requirePasswordChange } from './change-password.js';

const fields = z.object({
  username: z.string().max(256),
  password: z.string().max(MAX_PASSWORD_LENGTH),
});

/**
 * Failed sign-ins allowed before a cool-down: per typed identifier and per account (so username and
 * e-mail share one budget) 10 in 15 minutes, per account at most 50 in a day (NIST SP 800-63B asks
 * for well under 100 consecutive failures), and per client address 100 in 15 minutes.
 */
export const throttle = {
  identifier: { limit: 10, windowSeconds: 15 * 60 },
  account: { limit: 10, windowSeconds: 15 * 60 },
  accountDaily: { limit: 50, windowSeconds: 24 * 60 * 60 },
  address: { limit: 100, windowSeconds: 15 * 60 },
};

/** The one message for every failed sign-in: unknown user, wrong password, disabled account. */
export const INVALID_CREDENTIALS = 'Incorrect username or password.';

async function show(step: StepContext, username: string, error?: string, status = 200): Promise<void> {
  const client = await step.clientName();
  await step.render(
    'login',
    'Sign in',
    { action: `${step.base}/login`, client, username, error, fieldErrors: {} },
    status,
  );
}

/**
 * First factor: identifier + password (argon2id). Unknown users, wrong passwords and disabled
 * accounts get the same page, status and (through the dummy hash) the same time. Failures are
 * counted per identifier and per address; the counts cool down by themselves.
 */
export const passwordStep: InteractionStep = {
  name: 'login',

  async render(step) {
    const hint = step.interaction.params['login_hint'];
    await show(step, typeof hint === 'string' ? hint.slice(0, 256) : '');
  },

  async submit(step) {
    const { username, password } = parseFields(fields, step.verifyForm());
    const { app, tenant } = step;
    const identifierKey = `login:${tenant.id}:id:${normaliseUsername(username)}`;
    const addressKey = `login:${tenant.id}:ip:${step.ctx.ip}`;

    const tooMany = (wait: number) => {
      const minutes = Math.ceil(wait / 60);
      step.ctx.set('Retry-After', String(wait));
      return show(step, username, `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, 429);
    };

    // Every attempt is counted before the password is checked; a success gives the counts back.
    const wait = await app.attempts.reserve([
      [identifierKey, throttle.identifier],
      [addressKey, throttle.address],
    ]);
    if (wait > 0) return tooMany(wait);

    const user = username ? await app.users.findByIdentifier(tenant.id, username) : null;
    const accountKeys: Array<[string, typeof throttle.account]> = user
      ? [[`login:${tenant.id}:acct:${user._id}`, throttle.account], [`login:${tenant.id}:acct-day:${user._id}`, throttle.accountDaily]]
      : [];
    if (accountKeys.length) {
      const accountWait = await app.attempts.reserve(accountKeys);
      if (accountWait > 0) return tooMany(accountWait);
    }
    const verdict = await app.passwords.verify(user?.passwordHash, password);
    if (!user || !verdict.ok || user.disabled) {
      step.ctx.state.log?.info({ event: 'login.failed', tenant: tenant.id }, 'sign-in failed');
      return show(step, username, INVALID_CREDENTIALS, 401);
    }

    await Promise.all([app.attempts.reset(identifierKey), ...accountKeys.map(([key]) => app.attempts.reset(key)), app.attempts.release(addressKey)]);
    step.ctx.state.log?.info({ event: 'login.succeeded', tenant: tenant.id, accountId: user._id }, 'signed in');
    // An admin set this password to be replaced: the login finishes only after the change-password
    // step (the hash is not upgraded now, it is about to be replaced).
    if (user.passwordMustChange) return requirePasswordChange(step, { accountId: user._id, amr: ['pwd'], credential: credentialFingerprint(user.passwordHash!) });
    if (verdict.needsRehash) {
      // The configured argon2 parameters changed since this hash was made: upgrade it now.
      await app.users.setPasswordHash(tenant.id, user._id, await app.passwords.hash(password));
    }
    await step.finish({ login: { accountId: user._id, amr: ['pwd'] } }, false);
  },
};
