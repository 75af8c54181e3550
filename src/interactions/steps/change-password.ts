import { z } from 'zod';
import { acceptablePassword, identityOf } from '../../authn/password-acceptance.js';
import { minPasswordLength, type User } from '../../domain/users.js';
import { parseFields } from '../../http/forms.js';
import { credentialFingerprint, readState, saveState, type LoginState } from '../state.js';
import type { InteractionStep, StepContext } from '../step.js';

// Lengths are checked below so that too long a password gets a field error, not a bare 400;
// the form body limit already bounds what arrives here.
const fields = z.object({ new_password: z.string(), confirm_password: z.string() });

type FieldErrors = Partial<Record<'new_password' | 'confirm_password', string>>;

/**
 * The user this step may change the password of: still there, enabled, still owing a change, and
 * still holding the very password that was verified (an admin reset in between voids the progress).
 */
async function owingUser(step: StepContext, state: LoginState): Promise<User | null> {
  if (!state.accountId || !state.mustChangePassword) return null;
  const user = await step.app.users.findById(step.tenant.id, state.accountId);
  if (!user || user.disabled || !user.passwordHash || !user.passwordMustChange) return null;
  return state.credential === credentialFingerprint(user.passwordHash) ? user : null;
}

/**
 * The account changed since the password was verified (disabled, deleted, password reset or
 * removed by an admin): drop the recorded progress and start the sign-in again, where the
 * password step gives its usual answer.
 */
async function restart(step: StepContext): Promise<void> {
  await saveState(step.interaction, { factors: [] });
  step.ctx.status = 303;
  step.ctx.redirect(step.base);
}

async function show(step: StepContext, minLength: number, errors: FieldErrors = {}, status = 200): Promise<void> {
  await step.render('change-password', 'Choose a new password', { action: `${step.base}/change-password`, client: await step.clientName(), minLength, fieldErrors: errors }, status);
}

/** The tenant's policy as its context holds it: loaded when the context was built, renewed by every change. */
function policyFor(step: StepContext): number {
  return minPasswordLength(step.tenant.settings);
}

/**
 * "Must change password at next sign-in": after the password step verified the password an admin
 * set, the user chooses a new one (the tenant's rules, `acceptablePassword`; confirmed; not the old one);
 * the new hash replaces the old and clears the flag in one write, then the login goes on with the
 * factors recorded so far (the policy asks for this step after any second factor).
 */
export const changePasswordStep: InteractionStep<'change-password'> = {
  name: 'change-password',

  async render(step) {
    await show(step, policyFor(step));
  },

  async submit(step) {
    const form = parseFields(fields, step.verifyForm());
    const state = readState(step.interaction);
    const user = await owingUser(step, state);
    if (!user) return restart(step);

    const minLength = policyFor(step);
    const errors: FieldErrors = {};
    const verdict = await acceptablePassword(step.app.passwordChecks, step.tenant.settings.securityPolicy, form.new_password, identityOf(user));
    if (!verdict.ok) errors.new_password = verdict.message;
    else if (form.confirm_password !== form.new_password) errors.confirm_password = 'The two passwords do not match.';
    else if ((await step.app.passwords.verify(user.passwordHash, form.new_password)).ok) errors.new_password = 'Choose a password different from your current one.';
    if (Object.keys(errors).length > 0) return show(step, minLength, errors, 400);

    const { app, tenant } = step;
    await app.users.setPassword(tenant.id, user._id, await app.passwords.hash(form.new_password), false);
    await app.audit.record({
      tenant: tenant.id,
      type: 'user.password_changed',
      actor: { type: 'user', id: user._id, tenant: tenant.id },
      target: { type: 'user', id: user._id },
      requestId: step.ctx.state.requestId as string,
    });
    step.ctx.state.log?.info({ event: 'login.password_changed', tenant: tenant.id, accountId: user._id }, 'password changed at sign-in');
    await step.continueWith(step, { ...state, mustChangePassword: false });
  },
};
