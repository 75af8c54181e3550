import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../../authn/password.js';
import { accountAuditEvents } from '../../domain/audit.js';
import { identifierKey } from '../../domain/identifiers.js';
import { parseFields } from '../../http/forms.js';
import { chargeSignIn } from '../../authn/sign-in-throttle.js';
import { browserOf } from '../finish.js';
import { knownDeviceOf } from '../../http/known-device.js';
import { showLoginPage } from '../login-page.js';
import { checkSignInProofOfWork, signInProofOfWorkWidget } from '../sign-in-proof-of-work.js';
import { credentialFingerprint } from '../state.js';
import { waitText, type InteractionStep } from '../step.js';

const fields = z.object({
  username: z.string().max(256),
  password: z.string().max(MAX_PASSWORD_LENGTH),
});

/** The one message for every failed sign-in: unknown user, wrong password, disabled account. */
export const INVALID_CREDENTIALS = 'Incorrect username or password.';

/**
 * First factor: identifier + password (argon2id). Unknown users, wrong passwords and disabled
 * accounts get the same page, status and (through the dummy hash) the same time. Every attempt is
 * counted before the password is checked, against the budgets of authn/sign-in-throttle.ts: a
 * browser that signed in to the account before (device cookie) has its own, so guessers elsewhere
 * cannot lock the owner out; throttled answers look the same for real and unknown identifiers.
 */
export const passwordStep: InteractionStep<'password'> = {
  name: 'password',

  async render(step) {
    const hint = step.interaction.params['login_hint'];
    const username = typeof hint === 'string' ? hint.slice(0, 256) : '';
    await showLoginPage(step, { username, proofOfWork: await signInProofOfWorkWidget(step, identifierKey(username) ?? undefined) });
  },

  async submit(step) {
    const form = step.verifyForm();
    const { username, password } = parseFields(fields, form);
    const { app, tenant } = step;
    const now = app.clock();
    // The uniqueness key: look-alike spellings of one identifier share its budget.
    const identifier = identifierKey(username) ?? '';

    // After enough failures a solved challenge comes first: without one nothing is looked up or counted.
    const pow = await checkSignInProofOfWork(step, identifier, form);
    if (!pow.ok) {
      app.metrics.loginFailed(tenant.id, 'proof_of_work');
      step.ctx.state.log?.info({ event: 'login.proof_of_work_refused', tenant: tenant.id, reason: pow.reason }, 'sign-in refused: no valid proof of work');
      return showLoginPage(step, { username, error: pow.message, status: 400, proofOfWork: await signInProofOfWorkWidget(step, identifier) });
    }

    const user = username ? await app.users.findByIdentifier(tenant.id, username) : null;
    const deviceId = user ? await knownDeviceOf(step.ctx, tenant, app.devices, user._id, now) : undefined;
    const charge = await chargeSignIn(app.throttle, {
      tenant: tenant.id,
      identifier,
      address: step.ctx.ip,
      ...(user && deviceId ? { device: { accountId: user._id, deviceId } } : {}),
    });
    if (!charge.ok) {
      app.metrics.rateLimited(`sign_in_${charge.budget}`);
      app.metrics.loginFailed(tenant.id, 'throttled');
      step.ctx.set('Retry-After', String(charge.retryAfter));
      step.ctx.state.log?.info({ event: 'login.throttled', tenant: tenant.id, knownDevice: Boolean(deviceId) }, 'sign-in throttled');
      return showLoginPage(step, { username, error: `Too many failed attempts. Try again in ${waitText(charge.retryAfter)}.`, status: 429, proofOfWork: await signInProofOfWorkWidget(step, identifier) });
    }

    let verdict: Awaited<ReturnType<typeof app.passwords.verify>>;
    try {
      verdict = await app.passwords.verify(user?.passwordHash, password);
    } catch (error) {
      await charge.settle('failed');
      throw error;
    }
    if (!user || !verdict.ok || user.disabled) {
      await charge.settle('failed');
      if (user && !user.disabled) {
        // A wrong password for a real account: its owner sees it under "Recent activity". Written in
        // the background, so the answer takes no longer than an unknown identifier's does.
        const event = {
          tenant: tenant.id,
          type: accountAuditEvents.signInFailed,
          actor: { type: 'anonymous' as const, id: 'sign-in', tenant: tenant.id },
          target: { type: 'user', id: user._id },
          details: { reason: 'wrong_password', ...browserOf(step) },
        };
        app.background.run(async () => void (await app.audit.record(event)));
      }
      app.metrics.loginFailed(tenant.id, 'invalid_credentials');
      step.ctx.state.log?.info({ event: 'login.failed', tenant: tenant.id }, 'sign-in failed');
      return showLoginPage(step, { username, error: INVALID_CREDENTIALS, status: 401, proofOfWork: await signInProofOfWorkWidget(step, identifier) });
    }

    await charge.settle('succeeded');
    app.metrics.signedIn(tenant.id);
    step.ctx.state.log?.info({ event: 'login.succeeded', tenant: tenant.id, accountId: user._id }, 'signed in');
    // An admin set this password to be replaced: the policy asks for the change-password step before
    // the login finishes (the hash is not upgraded now, it is about to be replaced).
    if (verdict.needsRehash && !user.passwordMustChange) {
      // The configured argon2 parameters changed since this hash was made: upgrade it now.
      await app.users.setPasswordHash(tenant.id, user._id, await app.passwords.hash(password));
    }
    await step.continueWith(step, {
      accountId: user._id,
      factors: [{ method: 'pwd', at: now }],
      credential: credentialFingerprint(user.passwordHash!),
      ...(user.passwordMustChange ? { mustChangePassword: true } : {}),
    });
  },
};
