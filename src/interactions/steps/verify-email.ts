import { z } from 'zod';
import { chargeEmailSend } from '../../authn/email-send-limits.js';
import type { User } from '../../domain/users.js';
import { mailTenant, maskedAddress } from '../../account/account-mail.js';
import { applyVerification, sendVerification } from '../../account/email-address.js';
import { sendDuplicateSignupNotice } from '../../messaging/template-mail.js';
import { parseFields } from '../../http/forms.js';
import { readState, type LoginState } from '../state.js';
import { waitText, type InteractionStep, type StepContext } from '../step.js';

const fields = z.object({ code: z.string().max(64).optional(), resend: z.string().max(8).optional() });

/** What the page shows: the address masked, and what happened. */
interface Shown {
  error?: string;
  notice?: string;
  status?: number;
}

async function show(step: StepContext, address: string, shown: Shown = {}): Promise<void> {
  await step.render(
    'verify-email',
    'Confirm your e-mail address',
    { action: `${step.base}/verify-email`, continueUrl: step.base, client: await step.clientName(), address: maskedAddress(address), error: shown.error, notice: shown.notice },
    shown.status ?? 200,
  );
}

/** The account this step verifies, or undefined for a decoy (a sign-up whose address was taken). */
async function accountOf(step: StepContext, state: LoginState): Promise<User | undefined> {
  if (state.signUpDecoy || !state.accountId) return undefined;
  const user = await step.app.users.findById(step.tenant.id, state.accountId);
  return user && !user.disabled && user.email ? user : undefined;
}

/** Sends the account's code and link, in the background: the page answers as fast as a decoy's. */
function sendInBackground(step: StepContext, user: User): void {
  const request = { address: user.email!, purpose: 'verify' as const, client: step.ctx.ip, requestId: String(step.ctx.state.requestId ?? '') };
  step.app.background.run(async () => void (await sendVerification(step.app, step.tenant, user, request)));
}

/**
 * Where the tenant verifies e-mail before the first sign-in (`security_policy.registration`), a new
 * account proves its address here: a 6-digit code from the mail, typed in, or the mail's link
 * (opened anywhere; this page's "Continue" then finds the address verified). The first visit sends
 * the mail; "Send a new code" sends another, within the e-mail send limits.
 *
 * A sign-up with an address that already has an account gets this same page (`signUpDecoy`) and
 * the owner is mailed instead; no code works there, and sending "again" sends nothing new, so
 * the page says nothing about whether the address was free.
 */
export const verifyEmailStep: InteractionStep<'verify-email'> = {
  name: 'verify-email',

  async render(step) {
    const state = readState(step.interaction);
    if (state.signUpDecoy) return show(step, state.signUpDecoy.address);
    const user = await accountOf(step, state);
    if (!user) return step.continueWith(step, { factors: [] });
    if (!(await step.app.accountEmail.verifications.pendingOf(step.tenant.id, user._id))) sendInBackground(step, user);
    await show(step, user.email!);
  },

  async submit(step) {
    const form = parseFields(fields, step.verifyForm());
    const state = readState(step.interaction);
    const { app, tenant } = step;
    const user = await accountOf(step, state);
    const address = state.signUpDecoy?.address ?? user?.email;
    if (!address) return step.continueWith(step, { factors: [] });

    if (form.resend !== undefined) {
      const sent = user
        ? await sendVerification(app, tenant, user, { address, purpose: 'verify', client: step.ctx.ip, requestId: String(step.ctx.state.requestId ?? '') })
        : await decoyResend(step, address);
      if (sent.ok) return show(step, address, { notice: 'We sent a new code. It replaces the one before.' });
      if (sent.reason === 'rate_limited') {
        step.ctx.set('Retry-After', String(sent.retryAfter));
        return show(step, address, { error: `Too many messages. Try again in ${waitText(sent.retryAfter)}.`, status: 429 });
      }
      return show(step, address, { error: 'The mail could not be sent just now. Try again in a minute.', status: 503 });
    }

    const typed = form.code ?? '';
    if (!user) return show(step, address, { error: 'That code is not right. Check the latest mail, or send a new code.', status: 400 });
    // Verified meanwhile through the mail's link: nothing to type.
    if (user.emailVerified) return step.continueWith(step, state);
    const checked = await app.accountEmail.verifications.checkCode(tenant.id, user._id, typed);
    if (!checked.ok) {
      const error = checked.burned ? 'Too many wrong codes. Send a new code and use the latest mail.' : 'That code is not right. Check the latest mail, or send a new code.';
      return show(step, address, { error, status: 400 });
    }
    await applyVerification(app, tenant, checked.verification, String(step.ctx.state.requestId ?? ''));
    await step.continueWith(step, state);
  },
};

/**
 * "Send a new code" on a decoy: it charges the budget a real resend would (so a flood is refused
 * alike, Retry-After included) and sends nothing.
 */
async function decoyResend(step: StepContext, address: string): Promise<{ ok: true } | { ok: false; reason: 'rate_limited'; retryAfter: number }> {
  const charge = await chargeEmailSend(step.app.throttle, { tenant: step.tenant.id, purpose: 'verify', mailbox: address, client: step.ctx.ip });
  if (!charge.ok) return { ok: false, reason: 'rate_limited', retryAfter: charge.retryAfter };
  await charge.settle(true);
  return { ok: true };
}

/**
 * The owner of an address someone tried to sign up with is told by mail (sign in, or reset the
 * password), within the address's send limits; sent in the background, as the new account's is.
 */
export function tellOwnerOfDuplicateSignUp(step: StepContext, address: string): void {
  const { app, tenant } = step;
  app.background.run(async () => {
    const charge = await chargeEmailSend(app.throttle, { tenant: tenant.id, purpose: 'verify', mailbox: address, client: step.ctx.ip });
    if (!charge.ok) return;
    try {
      await sendDuplicateSignupNotice(app.email, mailTenant(tenant), address, { requestId: String(step.ctx.state.requestId ?? '') });
    } catch {
      // Logged by the sender; the person who tried to sign up sees the same page either way.
    } finally {
      await charge.settle(true);
    }
  });
}
