import { parsePhoneNumberWithError, type NumberType } from 'libphonenumber-js/max';

/** A phone number as Gatehouse keeps it: E.164, and the country it belongs to (ISO 3166 alpha-2). */
export interface PhoneNumber {
  e164: string;
  country: string;
}

/**
 * Kinds of number that can receive a text. Premium-rate, shared-cost, toll-free and other service
 * numbers are refused: texting them is how SMS pumping fraud earns money, and no person reads them.
 */
const textable = new Set<NumberType>(['MOBILE', 'FIXED_LINE_OR_MOBILE', 'PERSONAL_NUMBER', 'VOIP']);

/** What a person may type: `+`, digits and the usual separators, nothing else (no letters: no vanity numbers). */
const typed = /^\+[0-9][0-9 ().-]{1,24}$/;

/**
 * The number a person typed, in E.164 with its country, or why it is refused. The full
 * metadata of libphonenumber-js checks the number exists in its country's plan (the lengths alone
 * would let unassigned ranges through).
 */
export function parsePhone(input: string): { ok: true; phone: PhoneNumber } | { ok: false; problem: string } {
  const refused = { ok: false as const, problem: 'Enter a mobile number in international format, starting with + and the country code (such as +44 7400 123456).' };
  const text = input.trim();
  if (!typed.test(text)) return refused;
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(text);
  } catch {
    return refused;
  }
  const type = parsed.getType();
  if (!parsed.isValid() || parsed.country === undefined || type === undefined) return refused;
  if (!textable.has(type)) return { ok: false, problem: 'That number cannot receive text messages: enter a mobile number.' };
  return { ok: true, phone: { e164: parsed.number, country: parsed.country } };
}

/**
 * A number shown to anyone but its owner: the country code and the last four digits, the rest
 * masked in the number's international grouping (`+44 •••• ••12 34` style), so a user with two
 * phones can tell them apart and nobody else learns the number.
 */
export function maskPhone(e164: string): string {
  let formatted: string;
  let prefix: string;
  try {
    const parsed = parsePhoneNumberWithError(e164);
    formatted = parsed.formatInternational();
    prefix = `+${parsed.countryCallingCode}`;
  } catch {
    formatted = e164;
    prefix = e164.slice(0, 2);
  }
  const rest = formatted.slice(prefix.length);
  const digits = rest.replace(/\D/g, '').length;
  let seen = 0;
  const masked = rest.replace(/\d/g, (digit) => (++seen > digits - 4 ? digit : '•'));
  return `${prefix}${masked}`;
}
