import { acceptedBranding } from '../domain/branding.js';
import { escapeHtml, fillTemplate, templateProblems, type EmailTemplate, type EmailTemplateName, type TemplateValues, type TenantEmailTemplates } from '../domain/email-templates.js';
import type { TenantBranding } from '../domain/tenants.js';
import { defaultTextsFor } from './email-texts.js';
import { headerText, type EmailPurpose, type EmailSender } from './email.js';
import type { SendResult } from './sender.js';

/** What a mail needs of its tenant: its name, issuer (for links), branding and own templates. */
export interface MailTenant {
  id: string;
  displayName: string;
  /** `{publicUrl}/t/{tenant}`: every link in a mail starts here, never at a request's Host */
  issuer: string;
  branding?: TenantBranding | undefined;
  emailTemplates?: TenantEmailTemplates | undefined;
}

export interface TemplateMail<N extends EmailTemplateName> {
  to: string;
  template: N;
  /** every placeholder of the template but `tenant_name`, which comes from the tenant */
  values: Omit<TemplateValues<N>, 'tenant_name'>;
  locale?: string;
  requestId?: string;
}

const purposes: Record<EmailTemplateName, EmailPurpose> = {
  verify_email: 'verification',
  password_reset: 'password-reset',
  password_changed: 'notice',
  email_changed: 'notice',
  factor_changed: 'notice',
  signup_duplicate: 'notice',
};

/**
 * The tenant's template when it has one that today's rules accept (one stored by other means, or
 * before a rule changed, is skipped for Gatehouse's own), else the default in `locale`.
 */
function templateOf(tenant: MailTenant, name: EmailTemplateName, locale: string | undefined): EmailTemplate {
  const own = tenant.emailTemplates?.[name];
  if (own && typeof own.subject === 'string' && typeof own.text === 'string' && typeof own.html === 'string' && templateProblems(name, own).length === 0) return own;
  return defaultTextsFor(locale)[name];
}

/** Our HTML frame around a body: the tenant's logo and accent colour, checked again as pages do. */
function framed(tenant: MailTenant, body: string): string {
  const { branding } = acceptedBranding(tenant.branding);
  const accent = branding.accentColor ?? '#2563eb';
  const name = escapeHtml(tenant.displayName);
  const logo = branding.logoUrl ? `<p><img src="${escapeHtml(branding.logoUrl)}" alt="${name}" height="40"></p>` : `<p style="font-size:18px;font-weight:bold">${name}</p>`;
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<style>a.button{display:inline-block;background:${accent};color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none}.code{font-size:20px;letter-spacing:3px}.small{color:#555;font-size:13px}</style>` +
    `</head><body style="font-family:system-ui,sans-serif;color:#111"><div style="max-width:560px;margin:0 auto;padding:24px;border-top:4px solid ${accent}">` +
    `${logo}${body}<p class="small">${name}</p></div></body></html>`
  );
}

/** A template filled for a tenant: the subject, the text body and the framed HTML body. */
export function renderTemplateMail<N extends EmailTemplateName>(tenant: MailTenant, mail: Pick<TemplateMail<N>, 'template' | 'values' | 'locale'>): EmailTemplate {
  const template = templateOf(tenant, mail.template, mail.locale);
  const values: Record<string, string> = { ...(mail.values as Record<string, string>), tenant_name: tenant.displayName };
  return {
    subject: headerText(fillTemplate(template.subject, values, 'subject'), 200),
    text: fillTemplate(template.text, values, 'text'),
    html: framed(tenant, fillTemplate(template.html, values, 'html')),
  };
}

/**
 * Sends one of the templates to one address for a tenant: the tenant's wording or ours, its name
 * as the sender's, its branding. Rejects with `MessageNotSentError` as the sender does; callers
 * that must not reveal or wait for the outcome run it in `app.background`.
 */
export async function sendTemplateMail<N extends EmailTemplateName>(email: EmailSender, tenant: MailTenant, mail: TemplateMail<N>): Promise<SendResult> {
  const rendered = renderTemplateMail(tenant, mail);
  return email.send({
    tenant: tenant.id,
    to: mail.to,
    fromName: headerText(tenant.displayName, 100) || tenant.id,
    ...rendered,
    purpose: purposes[mail.template],
    ...(mail.requestId === undefined ? {} : { requestId: mail.requestId }),
  });
}

/** Where a mail sends people: the tenant's own pages under its issuer. */
export const mailLinks = {
  signIn: (tenant: Pick<MailTenant, 'issuer'>) => `${tenant.issuer}/account`,
  passwordReset: (tenant: Pick<MailTenant, 'issuer'>) => `${tenant.issuer}/account/password-reset`,
};

/**
 * For sign-up (issue 14): a sign-up with an address that already has an account answers as a new
 * one does, and the owner gets this mail instead. Run it in the background so the answer takes as
 * long either way.
 */
export function sendDuplicateSignupNotice(email: EmailSender, tenant: MailTenant, to: string, options: { locale?: string; requestId?: string } = {}): Promise<SendResult> {
  return sendTemplateMail(email, tenant, { to, template: 'signup_duplicate', values: { sign_in_link: mailLinks.signIn(tenant), reset_link: mailLinks.passwordReset(tenant) }, ...options });
}

/** The MailTenant of a tenant record and its issuer. */
export function mailTenantOf(tenant: { _id: string; displayName: string; branding?: TenantBranding; emailTemplates?: TenantEmailTemplates }, issuer: string): MailTenant {
  return { id: tenant._id, displayName: tenant.displayName, issuer, branding: tenant.branding, emailTemplates: tenant.emailTemplates };
}
