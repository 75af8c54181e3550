import { chargePasskeySignIn } from '../../authn/sign-in-throttle.js';
import { showLoginPage } from '../login-page.js';
import { waitText, type InteractionStep } from '../step.js';
import { assertionOf, challengeBinding } from '../webauthn-assertion.js';

/** The one message for every refused passkey: unknown, foreign or removed credential, bad signature, disabled account. */
export const PASSKEY_REFUSED = 'That passkey could not be used to sign in. Try again, or sign in with your password.';

/**
 * First factor without a password: a discoverable credential (passkey) with user verification, from
 * the "Sign in with a passkey" button or the browser's autofill on the login page. The credential's
 * user (looked up in this tenant only) becomes the account; a disabled or removed user is refused
 * like a wrong password. Attempts are counted per client address before the check (no account is
 * known before). UV makes the passkey two factors (`amr` `swk`/`hwk` + `mfa`), so a required second
 * factor is already met; the password is never asked, so a forced password change does not apply.
 */
export const passkeyStep: InteractionStep<'passkey'> = {
  name: 'passkey',

  async render(step) {
    await showLoginPage(step);
  },

  async options(step) {
    const { options } = await step.app.mfa.webauthn.startAuthentication(step.tenant.settings, { bindTo: challengeBinding(step, 'passkey') });
    return options;
  },

  async submit(step) {
    const response = assertionOf(step);
    const { app, tenant } = step;
    const now = app.clock();
    const charge = await chargePasskeySignIn(app.throttle, { tenant: tenant.id, address: step.ctx.ip });
    if (!charge.ok) {
      app.metrics.rateLimited(`sign_in_${charge.budget}`);
      app.metrics.loginFailed(tenant.id, 'throttled');
      step.ctx.set('Retry-After', String(charge.retryAfter));
      step.ctx.state.log?.info({ event: 'login.throttled', tenant: tenant.id, method: 'passkey' }, 'passkey sign-in throttled');
      return showLoginPage(step, { error: `Too many failed attempts. Try again in ${waitText(charge.retryAfter)}.`, status: 429 });
    }
    let signedIn: { userId: string; factorId: string; amr: 'hwk' | 'swk' } | undefined;
    try {
      const verdict = await app.mfa.webauthn.finishAuthentication(tenant.settings, { bindTo: challengeBinding(step, 'passkey'), response, requireUserVerification: true });
      // UV is required by the check itself; a verdict without it is refused here as well.
      if (verdict.ok && verdict.userVerified) {
        const user = await app.users.findById(tenant.id, verdict.userId);
        if (user && !user.disabled) signedIn = verdict;
      }
      if (!signedIn) step.ctx.state.log?.info({ event: 'login.failed', tenant: tenant.id, method: 'passkey', reason: verdict.ok ? 'account_unavailable' : verdict.reason }, 'passkey sign-in failed');
    } catch (error) {
      await charge.settle('failed');
      throw error;
    }
    if (!signedIn) {
      await charge.settle('failed');
      app.metrics.loginFailed(tenant.id, 'invalid_credentials');
      return showLoginPage(step, { error: PASSKEY_REFUSED, status: 401 });
    }
    await charge.settle('succeeded');
    app.metrics.signedIn(tenant.id);
    step.ctx.state.log?.info({ event: 'login.succeeded', tenant: tenant.id, accountId: signedIn.userId, method: 'passkey' }, 'signed in with a passkey');
    await step.continueWith(step, { accountId: signedIn.userId, factors: [{ method: signedIn.amr, at: now, factorId: signedIn.factorId, userVerified: true }] });
  },
};
