/**
 * A tenant's SMS settings (`securityPolicy.sms`). Whether SMS counts at all is `mfaFactors`
 * (`sms`); these say where texts may go, what they say, and which webhook carries them.
 */
export interface TenantSmsSettings {
  /** ISO 3166 alpha-2 codes; numbers of other countries are refused at enrolment and at sending. Every country when unset. */
  allowedCountries?: string[];
  /** the text, with `{code}` and `{tenant}`; {@link DEFAULT_SMS_MESSAGE} when unset */
  message?: string;
  /** the tenant's own gateway for the `webhook` sender: its URL and the secret, sealed ({@link smsWebhookPurpose}) */
  webhook?: { url: string; secret: string };
}

export const DEFAULT_SMS_MESSAGE = '{code} is your {tenant} sign-in code.';
/** One SMS segment of GSM-7 is 160 characters; a tenant name of 100 and a 6-digit code must still fit in a few. */
export const SMS_MESSAGE_MAX = 320;
/** Additional data of a sealed tenant webhook secret: it does not open on another tenant's record. */
export const smsWebhookPurpose = (tenant: string) => `sms-webhook:${tenant}`;

/** Why a message template is refused, or undefined: it must say the code once, and may name the tenant. */
export function smsMessageProblem(template: string): string | undefined {
  if (template.trim().length === 0 || template.length > SMS_MESSAGE_MAX) return `1 to ${SMS_MESSAGE_MAX} characters`;
  if (template.split('{code}').length !== 2) return 'must contain {code} exactly once';
  if (/\p{Cc}/u.test(template.replace(/\n/g, ''))) return 'must not contain control characters';
  const unknown = template.match(/\{(?!code\}|tenant\})[^}]*\}/);
  if (unknown) return `unknown placeholder ${unknown[0]} (only {code} and {tenant})`;
  return undefined;
}

/** The text of one message: the template with the code and the tenant's display name. */
export function smsText(settings: TenantSmsSettings | undefined, code: string, tenantName: string): string {
  const template = settings?.message ?? DEFAULT_SMS_MESSAGE;
  // Replacement functions: a display name is text, never `$&`-style replacement patterns.
  return template.replace('{code}', () => code).replaceAll('{tenant}', () => tenantName);
}

/** Whether a number of `country` may receive texts of this tenant. */
export function countryAllowed(settings: TenantSmsSettings | undefined, country: string): boolean {
  return settings?.allowedCountries === undefined || settings.allowedCountries.includes(country);
}
