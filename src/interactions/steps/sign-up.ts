import { z } from 'zod';
import { acceptablePassword } from '../../authn/password-acceptance.js';
import { MAX_PASSWORD_LENGTH } from '../../authn/password.js';
import { chargeSignUp } from '../../authn/sign-up-limits.js';
import { accountAuditEvents } from '../../domain/audit.js';
import { emailField, personText, phoneField, usernameField } from '../../domain/profile-fields.js';
import { registrationOf, type Registration, type RegistrationFieldName } from '../../domain/registration.js';
import { minPasswordLength, normaliseEmail, type NewUser } from '../../domain/users.js';
import { AppError } from '../../errors.js';
import { parseFields } from '../../http/forms.js';
import { checkProofOfWork, proofOfWorkWidgetIfOn } from '../../http/proof-of-work.js';
import { browserOf } from '../finish.js';
import { credentialFingerprint, saveState } from '../state.js';
import { tellOwnerOfDuplicateSignUp } from './verify-email.js';
import { waitText, type InteractionStep, type StepContext } from '../step.js';

/**
 * What the form may carry. Every value is bounded here (the body limit bounds the whole form);
 * the rules of each field are checked below, so a wrong value gets a message next to its field.
 */
const form = z.object({
  email: z.string().max(1024).optional(),
  username: z.string().max(1024).optional(),
  name: z.string().max(1024).optional(),
  phone: z.string().max(64).optional(),
  password: z.string().max(MAX_PASSWORD_LENGTH * 4),
  confirm_password: z.string().max(MAX_PASSWORD_LENGTH * 4),
});

type Field = RegistrationFieldName | 'password' | 'confirm_password';
type FieldErrors = Partial<Record<Field, string>>;
type Values = Partial<Record<RegistrationFieldName, string>>;

/** The rule of each profile field, and what to tell someone whose value breaks it. */
const rules: Record<RegistrationFieldName, { schema: z.ZodType<string>; problem: string }> = {
  email: { schema: emailField, problem: 'Enter an e-mail address such as name@example.com.' },
  username: { schema: usernameField, problem: 'Use letters, digits, dots, dashes or underscores (up to 128).' },
  name: { schema: personText(200), problem: 'Use at most 200 characters, without control characters.' },
  phone: { schema: phoneField, problem: 'Enter the number with + and the country code, such as +15555550100.' },
};

const labels: Record<RegistrationFieldName, string> = { email: 'E-mail address', username: 'Username', name: 'Full name', phone: 'Phone number' };

function settings(step: StepContext): Registration {
  return registrationOf(step.tenant.settings.securityPolicy);
}

async function show(step: StepContext, registration: Registration, values: Values = {}, errors: FieldErrors = {}, status = 200, error?: string): Promise<void> {
  const minLength = minPasswordLength(step.tenant.settings);
  const fields = (Object.keys(labels) as RegistrationFieldName[])
    .filter((name) => registration.fields[name] !== undefined)
    .map((name) => ({ name, label: labels[name], required: registration.fields[name] === 'required', value: values[name] ?? '' }));
  await step.render(
    'sign-up',
    'Create your account',
    {
      action: `${step.base}/sign-up`,
      signInUrl: `${step.base}/password`,
      client: await step.clientName(),
      fields,
      minLength,
      fieldErrors: errors,
      error,
      // The tenant's proof-of-work check of sign-ups (`security_policy.proof_of_work.sign_up`): a new
      // challenge with every page, as a solution is used up by the form it was sent with.
      proofOfWork: proofOfWorkWidgetIfOn(step.tenant, 'sign_up'),
    },
    status,
  );
}

/**
 * The new password, judged as every new password is (`authn/password-acceptance.ts`: the tenant's
 * length, not made of the person's own name or address, not a common or breached one), then
 * confirmed.
 */
async function passwordProblem(step: StepContext, password: string, confirm: string, values: Values): Promise<FieldErrors> {
  const verdict = await acceptablePassword(step.app.passwordChecks, step.tenant.settings.securityPolicy, password, { username: values.username, email: values.email, name: values.name });
  if (!verdict.ok) return { password: verdict.message };
  if (confirm !== password) return { confirm_password: 'The two passwords do not match.' };
  return {};
}

/** Reads and checks the asked fields; what is not asked is ignored, whatever the form sent. */
function readProfile(registration: Registration, raw: z.infer<typeof form>): { values: Values; errors: FieldErrors } {
  const values: Values = {};
  const errors: FieldErrors = {};
  for (const name of Object.keys(labels) as RegistrationFieldName[]) {
    const mode = registration.fields[name];
    if (mode === undefined) continue;
    const typed = (raw[name] ?? '').trim();
    if (typed === '') {
      if (mode === 'required') errors[name] = `Enter your ${labels[name].toLowerCase()}.`;
      continue;
    }
    const checked = rules[name].schema.safeParse(typed);
    if (checked.success) values[name] = checked.data;
    else errors[name] = rules[name].problem;
  }
  return { values, errors };
}

/**
 * Self-service sign-up inside the login pipeline (`security_policy.registration`): reached from
 * the sign-in page's link or first with `prompt=create`. It creates the account, then the login goes
 * on as after a password (second-factor enrolment where the tenant requires MFA, consent), so the
 * relying party gets its new user back signed in. Where the tenant verifies e-mail and the address
 * is the key, the new account first proves its address (`verify-email.ts`) and a taken address gets
 * the very same answer; otherwise a taken username or address is said so (docs/accounts.md says
 * what that makes observable).
 */
export const signUpStep: InteractionStep<'sign-up'> = {
  name: 'sign-up',

  async render(step) {
    const registration = settings(step);
    if (!registration.enabled) throw new AppError('not_found', 'This organisation does not offer sign-up. Go back and sign in.');
    const hint = step.interaction.params['login_hint'];
    const prefill: Values = typeof hint === 'string' && hint.length <= 254 ? { [registration.key]: hint } : {};
    await show(step, registration, prefill);
  },

  async submit(step) {
    const registration = settings(step);
    if (!registration.enabled) throw new AppError('not_found', 'This organisation does not offer sign-up. Go back and sign in.');
    const posted = step.verifyForm();
    const raw = parseFields(form, posted);
    const { values, errors } = readProfile(registration, raw);
    Object.assign(errors, await passwordProblem(step, raw.password, raw.confirm_password, values));
    if (Object.keys(errors).length > 0) return show(step, registration, values, errors, 400);

    const { app, tenant } = step;
    // After the fields (a typo costs no solved puzzle), before anything is counted, hashed or stored.
    const pow = await checkProofOfWork(app.proofOfWork, tenant, 'sign_up', posted);
    if (!pow.ok) return show(step, registration, values, {}, 400, pow.message);
    const charge = await chargeSignUp(app.throttle, tenant.id, step.ctx.ip);
    if (!charge.ok) {
      app.metrics.rateLimited('sign_up_address');
      step.ctx.set('Retry-After', String(charge.retryAfter));
      return show(step, registration, values, {}, 429, `Too many accounts were created from your network. Try again in ${waitText(charge.retryAfter)}.`);
    }
    const passwordHash = await app.passwords.hash(raw.password);
    const username = registration.key === 'username' ? values.username! : values.email!;
    const input: NewUser = {
      username,
      passwordHash,
      ...(values.email ? { email: values.email } : {}),
      ...(values.name ? { name: values.name } : {}),
      ...(values.phone ? { phone: values.phone } : {}),
      ...(registration.verifyEmail && values.email ? { verifyEmailFirst: true } : {}),
    };
    let user;
    try {
      user = await app.users.create(tenant.id, input, new Date(app.clock()));
    } catch (error) {
      await charge.settle('failed');
      if (!(error instanceof AppError) || error.code !== 'conflict') throw error;
      if (registration.verifyEmail && registration.key === 'email') {
        // The address has an account: the same answer as for a new one (on to "enter the code"),
        // and its owner hears of it by mail. Nothing here says whether the address was free.
        // The address as a new account's page would show it (stored form), not as typed.
        const address = normaliseEmail(values.email!);
        tellOwnerOfDuplicateSignUp(step, address);
        await saveState(step.interaction, { factors: [], signUpDecoy: { address } });
        step.ctx.status = 303;
        return step.ctx.redirect(step.base);
      }
      const taken: FieldErrors =
        registration.key === 'username'
          ? { username: 'This username, or one that looks the same, is taken (or is the e-mail address of an account). Choose another.' }
          : { email: 'An account with this e-mail address exists. Sign in, or reset your password.' };
      return show(step, registration, values, taken, 409);
    }
    await charge.settle('failed');
    await app.audit.record({
      tenant: tenant.id,
      type: accountAuditEvents.signedUp,
      actor: { type: 'user', id: user._id, tenant: tenant.id },
      target: { type: 'user', id: user._id },
      details: { client_id: String(step.interaction.params['client_id'] ?? ''), fields: Object.keys(values), ...browserOf(step) },
      ...(typeof step.ctx.state.requestId === 'string' ? { requestId: step.ctx.state.requestId } : {}),
    });
    step.ctx.state.log?.info({ event: 'login.signed_up', tenant: tenant.id, accountId: user._id }, 'account created by sign-up');
    await step.continueWith(step, { accountId: user._id, factors: [{ method: 'pwd', at: app.clock() }], credential: credentialFingerprint(passwordHash) });
  },
};
