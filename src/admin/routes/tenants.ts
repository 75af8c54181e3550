import { z } from 'zod';
import { issuerFor } from '../../app-context.js';
import { accentColorProblem, LOGO_URL_MAX_LENGTH, logoUrlProblem } from '../../domain/branding.js';
import { registrationOf, registrationProblem, type Registration, type RegistrationFieldName, type TenantRegistration } from '../../domain/registration.js';
import { deleteTenantAndData } from '../../domain/tenant-deletion.js';
import { DEFAULT_SMS_MESSAGE, smsMessageProblem, SMS_MESSAGE_MAX, type TenantSmsSettings } from '../../domain/sms-settings.js';
import { breachedCheckOf, breachedChecks } from '../../authn/breached-passwords.js';
import { cibaNotificationsOf } from '../../domain/ciba-settings.js';
import { POW_DIFFICULTY, POW_SIGN_IN_FAILURES, proofOfWorkOf, type TenantProofOfWork } from '../../domain/proof-of-work-settings.js';
import { deviceFlowOf, mfaFactorTypes, mfaPolicyOf, SYSTEM_TENANT, type Tenant, type TenantChanges, type TenantPolicyChanges, type TenantSecurityPolicy } from '../../domain/tenants.js';
import { AppError } from '../../errors.js';
import { defineRoute, type AdminRequest } from '../route.js';
import { page, paged, pageQuery, tenantParam, timestamps } from './common.js';
import { assertCibaNotificationsPossible } from './tenant-ciba.js';

/** A string checked by one of `domain/branding.ts`'s rules, which the pages apply again when they render. */
function checkedBy(problemOf: (value: string) => string | undefined, maxLength: number) {
  return z
    .string()
    .max(maxLength)
    .superRefine((value, ctx) => {
      const problem = problemOf(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

const branding = z
  .object({
    accent_color: checkedBy(accentColorProblem, 7).describe('#rrggbb; themes buttons, links and focus rings').optional(),
    logo_url: checkedBy(logoUrlProblem, LOGO_URL_MAX_LENGTH)
      .describe('an https:// image URL, not SVG, data: or http:; its origin is added to the img-src of the tenant’s pages')
      .optional(),
  })
  .strict();

/** How the sign-up page asks one field; a field left out is not asked. */
const fieldMode = z.enum(['required', 'optional']).optional();
const proofOfWork = z
  .object({
    sign_up: z.boolean().describe('the sign-up form needs a solved challenge').optional(),
    sign_in_after_failures: z
      .number()
      .int()
      .min(POW_SIGN_IN_FAILURES.min)
      .max(POW_SIGN_IN_FAILURES.max)
      .nullable()
      .describe('the password sign-in needs a solved challenge once this many failures are counted for the typed username or the client address; `null` (the default) never')
      .optional(),
    password_reset: z.boolean().describe('the forgot-password form needs a solved challenge').optional(),
    sms: z.boolean().describe('every form that texts a code (sign-in codes, adding a phone) needs a solved challenge').optional(),
    difficulty: z
      .number()
      .int()
      .min(POW_DIFFICULTY.min)
      .max(POW_DIFFICULTY.max)
      .describe(`the largest secret counter of a challenge; a browser tries on average 3/4 of it, 1,000 PBKDF2-SHA-256 rounds each (${POW_DIFFICULTY.default} when left out; docs/accounts.md gives solve times)`)
      .optional(),
  })
  .strict()
  .describe('a self-hosted proof-of-work check (ALTCHA) before the forms named here are accepted; every form off by default. Replaced whole: fields left out go back to their defaults; `null` turns it all off');

const securityPolicy = z
  .object({
    // A PATCH merges: fields left out are kept, `null` removes one (back to its default).
    password: z
      .object({
        min_length: z.number().int().min(8).max(128).optional(),
        breached_check: z
          .enum(breachedChecks)
          .describe(
            'where a new password is looked up: `list` (the list of the most common passwords shipped with Gatehouse; the default, also when left out), `off`, or `range_api` (the list, then the breach service’s k-anonymity range API the operator configured; the list alone when that fails)',
          )
          .optional(),
      })
      .strict()
      .describe('the password rules; replaced whole, so a field left out here goes back to its default (`breached_check`: `list`). `null` restores every default')
      .nullable()
      .optional(),
    mfa: z
      .enum(['off', 'optional', 'required'])
      .describe('second factors: `off` (never asked), `optional` (asked of users who enrolled one; the default), `required` (everyone; a user without a factor enrols one inside the login)')
      .optional(),
    mfa_factors: z
      .array(z.enum(mfaFactorTypes))
      .min(1)
      .max(mfaFactorTypes.length)
      .refine((types) => new Set(types).size === types.length, 'must not repeat a value')
      .describe('the factor types that count at this tenant (default: all); a type removed later stops counting. `null` restores the default')
      .nullable()
      .optional(),
    require_pkce: z.boolean().optional(),
    device_flow: z
      .object({
        enabled: z.boolean(),
        user_code_lifetime_seconds: z.number().int().min(60).max(1800).describe('how long a user code (and its device code) can be used; 600 when left out').optional(),
      })
      .strict()
      .describe('the device authorization grant (RFC 8628) for TVs and command-line tools; on by default. `null` restores the default')
      .nullable()
      .optional(),
    sms: z
      .object({
        allowed_countries: z
          .array(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code in capitals, such as GB'))
          .min(1)
          .max(250)
          .refine((codes) => new Set(codes).size === codes.length, 'must not repeat a value')
          .describe('the countries (ISO 3166 alpha-2) whose numbers may be enrolled and texted (default: all); `null` restores the default')
          .nullable()
          .optional(),
        message: checkedBy(smsMessageProblem, SMS_MESSAGE_MAX)
          .describe('the text of every code message: `{code}` once, `{tenant}` for the display name; `null` restores "{code} is your {tenant} sign-in code."')
          .nullable()
          .optional(),
      })
      .strict()
      .optional(),
    ciba: z
      .object({
        enabled: z.boolean().optional(),
        notifications: z
          .object({
            sms: z.boolean().describe('text each request’s approval link to the user’s phone (needs an SMS sender of the operator’s)').optional(),
            webhook: z.boolean().describe('POST each request as a signed `ciba.requested` event to the tenant’s CIBA webhook (set it first: `PUT /tenants/{tenant}/ciba-webhook`)').optional(),
          })
          .strict()
          .describe('how the user hears of a request; every channel off by default')
          .optional(),
      })
      .strict()
      .describe('OpenID CIBA (backchannel authentication, docs/ciba.md); off by default, its fields merge. `null` restores the defaults (off, no notifications) and keeps the webhook')
      .nullable()
      .optional(),
    registration: z
      .object({
        enabled: z.boolean(),
        fields: z
          .object({ email: fieldMode, username: fieldMode, name: fieldMode, phone: fieldMode } satisfies Record<RegistrationFieldName, typeof fieldMode>)
          .strict()
          .describe('what the sign-up page asks, each `required` or `optional` (left out: not asked); `username` or `email` must be required. Default: `{"email": "required"}`')
          .optional(),
        verify_email: z.boolean().describe('the e-mail address must be verified before the first sign-in finishes; the default wherever e-mail is asked').optional(),
      })
      .strict()
      .describe('self-service sign-up (and `prompt=create`, docs/accounts.md); off by default. The object replaces the previous one; `null` turns sign-up off')
      .nullable()
      .optional(),
    proof_of_work: proofOfWork.nullable().optional(),
    self_service: z
      .object({
        account_deletion: z.boolean().describe('users may delete their own account in the account console, after signing in again (docs/accounts.md); `false` by default, `null` restores it').nullable().optional(),
      })
      .strict()
      .describe('what users may do for themselves in the account console; each switch off by default, and the switches merge')
      .optional(),
  })
  .strict();

const hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lower-case host name such as login.example.com');

const editable = {
  display_name: z.string().trim().min(1).max(100),
  custom_host: hostname.nullable().optional(),
  branding: branding.optional(),
  security_policy: securityPolicy.optional(),
};

const tenantOut = z.object({
  id: z.string(),
  display_name: z.string(),
  issuer: z.string(),
  custom_host: z.string().nullable(),
  branding: z.object({ accent_color: z.string().optional(), logo_url: z.string().optional() }),
  security_policy: z.object({
    password: z.object({ min_length: z.number().optional(), breached_check: z.enum(breachedChecks) }),
    mfa: z.string(),
    mfa_factors: z.array(z.string()),
    require_pkce: z.boolean().optional(),
    device_flow: z.object({ enabled: z.boolean(), user_code_lifetime_seconds: z.number() }),
    sms: z.object({ allowed_countries: z.array(z.string()).nullable(), message: z.string(), webhook_url: z.string().nullable() }),
    ciba: z.object({ enabled: z.boolean(), notifications: z.object({ sms: z.boolean(), webhook: z.boolean() }), webhook_url: z.string().nullable() }),
    registration: z.object({ enabled: z.boolean(), fields: z.record(z.string(), z.string()), verify_email: z.boolean() }),
    proof_of_work: z.object({ sign_up: z.boolean(), sign_in_after_failures: z.number().nullable(), password_reset: z.boolean(), sms: z.boolean(), difficulty: z.number() }),
    self_service: z.object({ account_deletion: z.boolean() }),
  }),
  ...timestamps,
});

function toJson(request: AdminRequest<unknown, unknown, unknown>, tenant: Tenant): z.input<typeof tenantOut> {
  return {
    id: tenant._id,
    display_name: tenant.displayName,
    issuer: issuerFor(request.app.config, tenant._id),
    custom_host: tenant.customHost ?? null,
    branding: { accent_color: tenant.branding?.accentColor, logo_url: tenant.branding?.logoUrl },
    security_policy: {
      // What new passwords are checked with, defaults included (`min_length` only when the tenant set one).
      password: { min_length: tenant.securityPolicy?.password?.minLength, breached_check: breachedCheckOf(tenant.securityPolicy) },
      // What the login enforces, defaults included.
      mfa: mfaPolicyOf(tenant.securityPolicy).mfa,
      mfa_factors: [...mfaPolicyOf(tenant.securityPolicy).factors],
      // Tenants from before the setting have none: they require PKCE of public clients only.
      require_pkce: tenant.securityPolicy?.requirePkce === true,
      device_flow: { enabled: deviceFlowOf(tenant.securityPolicy).enabled, user_code_lifetime_seconds: deviceFlowOf(tenant.securityPolicy).userCodeLifetimeSeconds },
      sms: smsJson(tenant.securityPolicy?.sms),
      ciba: { enabled: tenant.securityPolicy?.ciba?.enabled === true, notifications: cibaNotificationsOf(tenant.securityPolicy?.ciba), webhook_url: tenant.securityPolicy?.ciba?.webhook?.url ?? null },
      registration: registrationJson(registrationOf(tenant.securityPolicy)),
      proof_of_work: proofOfWorkJson(tenant.securityPolicy?.proofOfWork),
      self_service: { account_deletion: tenant.securityPolicy?.selfService?.accountDeletion === true },
    },
    created_at: tenant.createdAt.toISOString(),
    updated_at: tenant.updatedAt.toISOString(),
  };
}

function registrationJson(registration: Registration): z.input<typeof tenantOut>['security_policy']['registration'] {
  return { enabled: registration.enabled, fields: registration.fields, verify_email: registration.verifyEmail };
}

function registrationChange(input: z.infer<typeof securityPolicy>['registration']): TenantRegistration | null {
  if (!input) return null;
  const fields = Object.fromEntries(Object.entries(input.fields ?? {}).filter(([, mode]) => mode !== undefined));
  return { enabled: input.enabled, ...(input.fields ? { fields } : {}), ...(input.verify_email !== undefined ? { verifyEmail: input.verify_email } : {}) };
}

/**
 * Refuses sign-up settings that cannot work, naming the field: a sign-up with no sign-in key, or
 * e-mail verification (the default wherever e-mail is asked) where the operator configured no
 * e-mail sender (409, as CIBA's SMS notifications without an SMS sender), since no new account
 * could ever finish signing in.
 */
export function assertRegistrationPossible(request: Pick<AdminRequest<unknown, unknown, unknown>, 'app'>, input: z.infer<typeof securityPolicy>['registration']): void {
  const settings = input ? registrationChange(input) : null;
  if (!settings) return;
  const problem = registrationProblem(settings);
  if (problem) throw new AppError('invalid_request', `security_policy.registration: ${problem}`);
  if (settings.enabled && registrationOf({ registration: settings }).verifyEmail && request.app.config.messaging.email.sender === undefined) {
    throw new AppError('conflict', 'security_policy.registration.verify_email needs an e-mail sender, and none is configured: set messaging.email.sender (GATEHOUSE_EMAIL_SENDER), or send "verify_email": false (docs/accounts.md says what a sign-up then reveals)');
  }
}

/** The SMS settings as the API shows them, defaults included; the webhook's secret never. */
function smsJson(sms: TenantSmsSettings | undefined): z.input<typeof tenantOut>['security_policy']['sms'] {
  return { allowed_countries: sms?.allowedCountries ?? null, message: sms?.message ?? DEFAULT_SMS_MESSAGE, webhook_url: sms?.webhook?.url ?? null };
}

/** The proof-of-work settings as the API shows them, defaults included. */
function proofOfWorkJson(settings: TenantProofOfWork | undefined): z.input<typeof tenantOut>['security_policy']['proof_of_work'] {
  const pow = proofOfWorkOf(settings);
  return { sign_up: pow.signUp, sign_in_after_failures: pow.signInAfterFailures, password_reset: pow.passwordReset, sms: pow.sms, difficulty: pow.difficulty };
}

/** A proof-of-work change: replaces the stored settings whole; only what is on is kept. */
function proofOfWorkChange(input: z.infer<typeof proofOfWork> | null): TenantProofOfWork | null {
  if (input === null) return null;
  return {
    ...(input.sign_up ? { signUp: true } : {}),
    ...(input.sign_in_after_failures != null ? { signInAfterFailures: input.sign_in_after_failures } : {}),
    ...(input.password_reset ? { passwordReset: true } : {}),
    ...(input.sms ? { sms: true } : {}),
    ...(input.difficulty !== undefined ? { difficulty: input.difficulty } : {}),
  };
}

/**
 * Fields a tenant's own admins may not change, only operators of the system tenant. A tenant admin
 * is like a Keycloak realm admin or an Auth0 tenant admin: the tenant's name, branding and password
 * policy are theirs to decide, as they only shape what their own users see. `custom_host` is not:
 * it routes traffic for a host name whose DNS and TLS certificate the operator runs, and a host taken
 * by one tenant is refused to every other. (`id` is fixed for everyone: it is in every issuer.)
 */
const systemOnlyFields = ['custom_host'] as const;

function assertMayChange(request: AdminRequest<unknown, unknown, Record<string, unknown>>): void {
  if (request.principal.tenant === SYSTEM_TENANT) return;
  const field = systemOnlyFields.find((name) => name in request.body);
  if (field) throw new AppError('forbidden', `Only operators of the system tenant may change "${field}" of a tenant.`);
}

type Editable = { display_name?: string; custom_host?: string | null; branding?: z.infer<typeof branding>; security_policy?: z.infer<typeof securityPolicy> };

function deviceFlowChange(input: { enabled: boolean; user_code_lifetime_seconds?: number | undefined } | null): TenantSecurityPolicy['deviceFlow'] | null {
  if (input === null) return null;
  return { enabled: input.enabled, ...(input.user_code_lifetime_seconds !== undefined ? { userCodeLifetimeSeconds: input.user_code_lifetime_seconds } : {}) };
}

function passwordChange(input: NonNullable<z.infer<typeof securityPolicy>['password']>): NonNullable<TenantSecurityPolicy['password']> {
  return {
    ...(input.min_length ? { minLength: input.min_length } : {}),
    ...(input.breached_check ? { breachedCheck: input.breached_check } : {}),
  };
}

function cibaChange(input: z.infer<typeof securityPolicy>['ciba']): TenantPolicyChanges['ciba'] {
  if (!input) return null;
  const { sms, webhook } = input.notifications ?? {};
  return {
    ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    ...(input.notifications ? { notifications: { ...(sms !== undefined ? { sms } : {}), ...(webhook !== undefined ? { webhook } : {}) } } : {}),
  };
}

function changesOf(input: Editable): TenantChanges {
  return {
    ...(input.display_name !== undefined ? { displayName: input.display_name } : {}),
    ...(input.custom_host ? { customHost: input.custom_host } : {}),
    ...(input.branding ? { branding: { ...(input.branding.accent_color ? { accentColor: input.branding.accent_color } : {}), ...(input.branding.logo_url ? { logoUrl: input.branding.logo_url } : {}) } } : {}),
    ...(input.security_policy
      ? {
          securityPolicy: {
            ...(input.security_policy.password === null ? { password: null } : {}),
            ...(input.security_policy.password ? { password: passwordChange(input.security_policy.password) } : {}),
            ...(input.security_policy.mfa ? { mfa: input.security_policy.mfa } : {}),
            ...(input.security_policy.mfa_factors !== undefined ? { mfaFactors: input.security_policy.mfa_factors } : {}),
            ...(input.security_policy.require_pkce !== undefined ? { requirePkce: input.security_policy.require_pkce } : {}),
            ...(input.security_policy.device_flow !== undefined ? { deviceFlow: deviceFlowChange(input.security_policy.device_flow) } : {}),
            ...(input.security_policy.sms ? { sms: { allowedCountries: input.security_policy.sms.allowed_countries, message: input.security_policy.sms.message } } : {}),
            ...(input.security_policy.ciba !== undefined ? { ciba: cibaChange(input.security_policy.ciba) } : {}),
            ...(input.security_policy.registration !== undefined ? { registration: registrationChange(input.security_policy.registration) } : {}),
            ...(input.security_policy.proof_of_work !== undefined ? { proofOfWork: proofOfWorkChange(input.security_policy.proof_of_work) } : {}),
            ...(input.security_policy.self_service?.account_deletion !== undefined ? { selfService: { accountDeletion: input.security_policy.self_service.account_deletion } } : {}),
          },
        }
      : {}),
  };
}

/**
 * Tenants: only operators of the system tenant create, list and delete them; a tenant admin may read
 * their own and change what {@link systemOnlyFields} leaves them.
 */
export const tenantRoutes = [
  defineRoute({
    method: 'post',
    path: '/tenants',
    tag: 'Tenants',
    summary: 'Create a tenant',
    scopes: ['admin:tenants'],
    systemOnly: true,
    body: z.object({ id: tenantParam.shape.tenant, ...editable }).strict(),
    response: tenantOut,
    status: 201,
    async handler(request) {
      const { id, ...rest } = request.body;
      assertCibaNotificationsPossible(request, rest.security_policy?.ciba?.notifications, undefined);
      assertRegistrationPossible(request, rest.security_policy?.registration);
      const tenant = await request.app.tenants.create({ id, displayName: rest.display_name, ...changesOf(rest) });
      // Keys now, so the new tenant can sign from its first request even where keys are not generated on demand.
      await request.app.keys.rotate(id, { now: new Date(request.app.clock()) });
      await request.audit({ tenant: id, type: 'tenant.created', target: { type: 'tenant', id }, after: toJson(request, tenant) });
      request.ctx.set('Location', `/admin/v1/tenants/${id}`);
      return toJson(request, tenant);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants',
    tag: 'Tenants',
    summary: 'List tenants',
    scopes: ['admin:tenants'],
    systemOnly: true,
    query: pageQuery,
    response: page(tenantOut),
    async handler(request) {
      const tenants = await request.app.tenants.list({ ...(request.query.cursor ? { after: request.query.cursor } : {}), limit: request.query.limit + 1 });
      const result = paged(tenants, request.query.limit, (tenant) => tenant._id);
      return { items: result.items.map((tenant) => toJson(request, tenant)), next_cursor: result.next_cursor };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant',
    tag: 'Tenants',
    summary: 'Read a tenant (its issuer included)',
    scopes: [],
    params: tenantParam,
    response: tenantOut,
    async handler(request) {
      return toJson(request, (await request.app.tenants.find(request.tenant))!);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/tenants/:tenant',
    tag: 'Tenants',
    summary: 'Update a tenant’s name, host, branding or security policy',
    description: 'A tenant’s own admins may change its name, branding and security policy; `custom_host` only operators of the system tenant (403 otherwise). A host another tenant has is a 409, and so is a CIBA notification channel turned on where it cannot send (no SMS sender; no CIBA webhook set).',
    scopes: ['admin:tenants'],
    params: tenantParam,
    body: z.object({ ...editable, display_name: editable.display_name.optional() }).strict(),
    response: tenantOut,
    async handler(request) {
      assertMayChange(request);
      const before = (await request.app.tenants.find(request.tenant))!;
      assertCibaNotificationsPossible(request, request.body.security_policy?.ciba?.notifications, before);
      assertRegistrationPossible(request, request.body.security_policy?.registration);
      const unset = request.body.custom_host === null;
      const updated = await request.app.tenants.update(request.tenant, changesOf(request.body), undefined, unset ? ['customHost'] : []);
      if (!updated) throw new AppError('not_found', `There is no tenant "${request.tenant}".`);
      request.changed({ kind: 'tenant' });
      await request.audit({ type: 'tenant.updated', target: { type: 'tenant', id: request.tenant }, before: toJson(request, before), after: toJson(request, updated) });
      return toJson(request, updated);
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant',
    tag: 'Tenants',
    summary: 'Delete a tenant and everything it owns',
    scopes: ['admin:tenants'],
    systemOnly: true,
    params: tenantParam,
    response: z.object({}),
    status: 204,
    async handler(request) {
      if (request.tenant === SYSTEM_TENANT) throw new AppError('forbidden', 'The system tenant cannot be deleted.');
      request.changed({ kind: 'tenant' });
      await deleteTenantAndData(request.app.tenantDeletion, request.tenant);
      request.changed({ kind: 'tenant' });
      await request.audit({ tenant: SYSTEM_TENANT, type: 'tenant.deleted', target: { type: 'tenant', id: request.tenant } });
      return {};
    },
  }),
];
