/**
 * Self-service sign-up of a tenant (`security_policy.registration`, admin API): off unless an
 * operator turns it on. What the sign-up page asks is per field: `required`, `optional`, or not
 * asked at all. The account's sign-in identifier is its username where usernames are asked, else
 * its e-mail address (which then also becomes the username, so sign-in by either works).
 */
export const registrationFieldNames = ['email', 'username', 'name', 'phone'] as const;
export type RegistrationFieldName = (typeof registrationFieldNames)[number];
export type RegistrationFieldMode = 'required' | 'optional';

export interface TenantRegistration {
  enabled: boolean;
  /** the fields asked; at least `email` or `username` must be `required` (`registrationProblem`) */
  fields?: Partial<Record<RegistrationFieldName, RegistrationFieldMode>>;
  /**
   * the e-mail address must be verified before the first sign-in finishes; the default wherever
   * e-mail is asked (`registrationOf`)
   */
  verifyEmail?: boolean;
}

/** A tenant's sign-up as the pages use it: every default filled in. */
export interface Registration {
  enabled: boolean;
  fields: Partial<Record<RegistrationFieldName, RegistrationFieldMode>>;
  verifyEmail: boolean;
  /** what the new account signs in with, and what must be unique */
  key: 'username' | 'email';
}

/** When sign-up is on and names no fields: an e-mail address and a password. */
const DEFAULT_FIELDS: Registration['fields'] = { email: 'required' };

export function registrationOf(policy: { registration?: TenantRegistration } | undefined): Registration {
  const settings = policy?.registration;
  const fields = settings?.fields && Object.keys(settings.fields).length > 0 ? settings.fields : DEFAULT_FIELDS;
  return {
    enabled: settings?.enabled === true,
    fields,
    verifyEmail: fields.email !== undefined && (settings?.verifyEmail ?? true),
    key: fields.username === 'required' ? 'username' : 'email',
  };
}

/** Why these settings cannot work, in the words an operator can act on; undefined when they can. */
export function registrationProblem(settings: TenantRegistration): string | undefined {
  const fields = settings.fields ?? DEFAULT_FIELDS;
  if (fields.username !== 'required' && fields.email !== 'required') {
    return 'fields must make "username" or "email" required: a new account needs something to sign in with';
  }
  if (settings.verifyEmail === true && fields.email === undefined) return 'verify_email needs the "email" field';
  return undefined;
}
