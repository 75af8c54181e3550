import { chargeSmsSend } from '../authn/sms-send-limits.js';
import { parsePhone, type PhoneNumber } from '../domain/phone.js';
import { countryAllowed } from '../domain/sms-settings.js';
import type { Tenant } from '../domain/tenants.js';
import type { User } from '../domain/users.js';
import type { CibaNotificationDeps } from './ciba-deps.js';
import { NotificationRefused } from './notification-refused.js';
import type { tenantSmsSenders } from './tenant-sender.js';

/**
 * Where a CIBA text goes: the user's first phone added as a second factor (possession proven by a
 * code it received, and the number they chose for security messages), else the profile's phone
 * when it is marked verified; one number only, so a request never texts a person twice. A profile
 * phone that is not a textable number (`parsePhone`) counts as none.
 */
export async function cibaPhoneOf(app: CibaNotificationDeps, user: User): Promise<PhoneNumber | undefined> {
  const [factor] = await app.mfa.factors.smsPhones(user.tenant, user._id);
  if (factor) return { e164: factor.phone, country: factor.country };
  if (!user.phone || !user.phoneVerified) return undefined;
  const parsed = parsePhone(user.phone);
  return parsed.ok ? parsed.phone : undefined;
}

/** The text: who asks (tenant and client), the binding message to compare, and the approval page. */
export function cibaSmsText(tenantName: string, clientName: string, bindingMessage: string | undefined, approvalUrl: string): string {
  const what = bindingMessage === undefined ? 'a sign-in' : `a sign-in ("${bindingMessage}")`;
  return `${tenantName}: ${clientName} asks you to approve ${what}. Approve or deny: ${approvalUrl}`;
}

export interface CibaText {
  tenant: Tenant;
  user: User;
  clientName: string;
  bindingMessage: string | undefined;
  approvalUrl: string;
  requestId: string | undefined;
}

/**
 * Texts the approval link through the tenant's SMS sender, under the tenant's allowed countries and
 * the same sending budgets as sign-in codes (per phone and per account, counted before the send, so
 * parallel requests cannot pass them together). Answers `no_phone` when the user has no phone to
 * text (nothing is wrong then); rejects when the text is refused or not accepted.
 */
export async function textApprovalLink(app: CibaNotificationDeps, senderOf: ReturnType<typeof tenantSmsSenders>, text: CibaText): Promise<'sent' | 'no_phone'> {
  const phone = await cibaPhoneOf(app, text.user);
  if (!phone) return 'no_phone';
  const settings = text.tenant.securityPolicy?.sms;
  if (!countryAllowed(settings, phone.country)) throw new NotificationRefused('country_not_allowed', `the tenant does not text numbers of ${phone.country}`);
  const charge = await chargeSmsSend(app.throttle, { tenant: text.tenant._id, accountId: text.user._id, phone: phone.e164 });
  if (!charge.ok) throw new NotificationRefused('rate_limited', `the ${charge.budget} sending limit is reached; another text may go in ${charge.retryAfter} s`);
  try {
    await senderOf(text.tenant._id, settings).send({
      channel: 'sms',
      tenant: text.tenant._id,
      to: phone.e164,
      text: cibaSmsText(text.tenant.displayName, text.clientName, text.bindingMessage, text.approvalUrl),
      purpose: 'ciba',
      ...(text.requestId ? { requestId: text.requestId } : {}),
    });
  } finally {
    // Handed to the sender: it counts even when the gateway failed (it may have sent it).
    await charge.settle(true);
  }
  return 'sent';
}
