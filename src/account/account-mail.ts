import type { AppContext } from '../app-context.js';
import type { EmailTemplateName } from '../domain/email-templates.js';
import { mailTenantOf, sendTemplateMail, type MailTenant, type TemplateMail } from '../messaging/template-mail.js';
import type { TenantContext } from '../tenancy/tenant-context.js';

/** The mail view of a built tenant: its record, and its issuer as the root of every link. */
export function mailTenant(tenant: TenantContext): MailTenant {
  return mailTenantOf(tenant.settings, tenant.issuer);
}

/**
 * Sends a template mail for a tenant in the background (`app.background`): the request answers
 * without waiting for the mail server, the answer is the same whether or not the mail went, and
 * a failure is logged (by the sender) rather than shown. The one way account features send
 * notices (`password_changed`, `email_changed`, `factor_changed`, `signup_duplicate`).
 */
export function sendAccountMail<N extends EmailTemplateName>(app: AppContext, tenant: TenantContext, mail: TemplateMail<N>): void {
  app.background.run(async () => {
    await sendTemplateMail(app.email, mailTenant(tenant), mail).catch(() => undefined);
  });
}

/** `ada@example.com` as `a••@example.com`: enough for the owner to recognise, little for anyone else. */
export function maskedAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${address[0]}${'•'.repeat(Math.min(8, Math.max(2, at - 1)))}${address.slice(at)}`;
}

/** The name a mail greets a user by. */
export function greetingName(user: { name?: string; givenName?: string; username: string }): string {
  return user.givenName ?? user.name ?? user.username;
}
