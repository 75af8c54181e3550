/**
 * The e-mails Gatehouse sends on a tenant's behalf, and the rules for a tenant's own wording of them.
 *
 * A tenant admin may replace a template's subject, text and HTML body, but never with code: EJS
 * runs JavaScript, so tenant text is never given to EJS. A template holds literal text and
 * `<%= name %>` placeholders whose names come from that template's own allow-list; anything else
 * that looks like a template tag (`<%`, `<%-`, `<%#`, `%>` alone) is refused when the template is
 * saved, and {@link fillTemplate} (our own substitution, HTML-escaping in HTML bodies) is all that
 * ever reads it.
 */

/** Every template, with the placeholders it may use. */
export const emailTemplatePlaceholders = {
  /** to prove an address: the link and the short code for another device */
  verify_email: ['tenant_name', 'user_name', 'link', 'code', 'expires_minutes'],
  /** a forgotten password: the reset link */
  password_reset: ['tenant_name', 'user_name', 'link', 'expires_minutes'],
  /** the password was reset (sent after the new one took effect) */
  password_changed: ['tenant_name', 'user_name'],
  /** to the OLD address, once a new one replaced it; the new one is masked */
  email_changed: ['tenant_name', 'user_name', 'new_email_masked'],
  /** a second factor was added or removed */
  factor_changed: ['tenant_name', 'user_name', 'factor', 'change'],
  /** someone tried to sign up with an address that already has an account */
  signup_duplicate: ['tenant_name', 'sign_in_link', 'reset_link'],
} as const satisfies Record<string, readonly string[]>;

export type EmailTemplateName = keyof typeof emailTemplatePlaceholders;
export const emailTemplateNames = Object.keys(emailTemplatePlaceholders) as EmailTemplateName[];

export function isEmailTemplateName(value: string): value is EmailTemplateName {
  return Object.hasOwn(emailTemplatePlaceholders, value);
}

/** The values a template of `name` is filled with. */
export type TemplateValues<N extends EmailTemplateName> = Record<(typeof emailTemplatePlaceholders)[N][number], string>;

/** A template's three parts, as a tenant stores them or as the defaults hold them. */
export interface EmailTemplate {
  subject: string;
  text: string;
  html: string;
}

/** A tenant's own templates, by name (`Tenant.emailTemplates`). */
export type TenantEmailTemplates = Partial<Record<EmailTemplateName, EmailTemplate>>;

export const TEMPLATE_LIMITS = { subject: 200, text: 16 * 1024, html: 32 * 1024 } as const;

const placeholder = /<%=[ \t]*([a-z_]{1,32})[ \t]*%>/g;

/**
 * What is wrong with one part of a template, if anything: its size, a line break in the subject, a
 * tag other than `<%= name %>`, or a name outside the template's allow-list. The message names the
 * part (`html: ...`) so the admin API's answer says which field to fix.
 */
export function templatePartProblem(name: EmailTemplateName, part: keyof EmailTemplate, value: string): string | undefined {
  const allowed: readonly string[] = emailTemplatePlaceholders[name];
  if (value.length === 0) return `${part}: must not be empty`;
  if (value.length > TEMPLATE_LIMITS[part]) return `${part}: must be at most ${TEMPLATE_LIMITS[part]} characters`;
  if (part === 'subject' && /[\r\n]/.test(value)) return 'subject: must be one line';
  for (const match of value.matchAll(placeholder)) {
    if (!allowed.includes(match[1]!)) return `${part}: unknown placeholder "${match[1]}"; ${name} may use ${allowed.join(', ')}`;
  }
  // With every allowed placeholder taken out, no tag may be left: `<%`, `<%-`, `<%#`, `<%_`, a lone `%>`.
  const rest = value.replace(placeholder, '');
  if (rest.includes('<%') || rest.includes('%>')) return `${part}: only <%= name %> placeholders are allowed (templates run no code: no <% %>, <%- %> or other tags)`;
  return undefined;
}

/** Every problem of a template, one per part at most. */
export function templateProblems(name: EmailTemplateName, template: EmailTemplate): string[] {
  return (['subject', 'text', 'html'] as const).flatMap((part) => templatePartProblem(name, part, template[part]) ?? []);
}

const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (character) => htmlEntities[character]!);
}

/**
 * Fills a checked template part: each `<%= name %>` becomes its value (HTML-escaped when `html`),
 * in one pass, so a value that itself looks like a placeholder is never filled again. A name
 * without a value (a template stored before a rule changed) becomes empty.
 */
export function fillTemplate(source: string, values: Readonly<Record<string, string>>, mode: 'text' | 'html' | 'subject'): string {
  return source.replace(placeholder, (_tag, key: string) => {
    const value = Object.hasOwn(values, key) ? values[key]! : '';
    if (mode === 'html') return escapeHtml(value);
    return mode === 'subject' ? value.replace(/[\r\n]+/g, ' ') : value;
  });
}
