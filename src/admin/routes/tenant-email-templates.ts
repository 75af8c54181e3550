import { z } from 'zod';
import { emailTemplateNames, emailTemplatePlaceholders, isEmailTemplateName, templateProblems, TEMPLATE_LIMITS, type EmailTemplateName } from '../../domain/email-templates.js';
import { AppError } from '../../errors.js';
import { defaultTextsFor } from '../../messaging/email-texts.js';
import { defineRoute } from '../route.js';
import { empty, tenantParam } from './common.js';

const templateParams = tenantParam.extend({ name: z.string().max(64) });
const templateBody = z
  .object({
    subject: z.string().max(TEMPLATE_LIMITS.subject, `at most ${TEMPLATE_LIMITS.subject} characters`),
    text: z.string().max(TEMPLATE_LIMITS.text, `at most ${TEMPLATE_LIMITS.text} characters`),
    html: z.string().max(TEMPLATE_LIMITS.html, `at most ${TEMPLATE_LIMITS.html} characters`),
  })
  .strict();
const templateView = z.object({ name: z.string(), placeholders: z.array(z.string()), custom: z.boolean(), subject: z.string(), text: z.string(), html: z.string() });

function nameOf(value: string): EmailTemplateName {
  if (!isEmailTemplateName(value)) throw new AppError('not_found', `There is no e-mail template "${value}"; the templates are ${emailTemplateNames.join(', ')}.`);
  return value;
}

const placeholdersDoc = emailTemplateNames.map((name) => `\`${name}\`: ${emailTemplatePlaceholders[name].map((key) => `\`${key}\``).join(', ')}`).join('; ');

/**
 * A tenant's own wording of Gatehouse's e-mails. Templates are text with `<%= name %>` placeholders
 * from each template's allow-list and nothing else: tenant admins write them, so they never reach
 * EJS (which would run their JavaScript). Checked on save (the error names the field); filled by
 * our own substitution, HTML-escaped in the HTML body, inside Gatehouse's branded frame.
 */
export const tenantEmailTemplateRoutes = [
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/email-templates',
    tag: 'Tenants',
    summary: 'List the e-mail templates, their placeholders and whether the tenant has its own wording',
    scopes: ['admin:tenants'],
    params: tenantParam,
    response: z.object({ items: z.array(templateView.pick({ name: true, placeholders: true, custom: true })) }),
    async handler({ app, tenant }) {
      const own = (await app.tenants.find(tenant))?.emailTemplates ?? {};
      return { items: emailTemplateNames.map((name) => ({ name, placeholders: [...emailTemplatePlaceholders[name]], custom: own[name] !== undefined })) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/tenants/:tenant/email-templates/:name',
    tag: 'Tenants',
    summary: 'Read an e-mail template: the tenant’s own wording, or Gatehouse’s (English) when it has none',
    scopes: ['admin:tenants'],
    params: templateParams,
    response: templateView,
    errors: { 404: '`not_found`: no template of that name' },
    async handler({ app, tenant, params }) {
      const name = nameOf(params.name);
      const own = (await app.tenants.find(tenant))?.emailTemplates?.[name];
      const template = own ?? defaultTextsFor('en')[name];
      return { name, placeholders: [...emailTemplatePlaceholders[name]], custom: own !== undefined, subject: template.subject, text: template.text, html: template.html };
    },
  }),
  defineRoute({
    method: 'put',
    path: '/tenants/:tenant/email-templates/:name',
    tag: 'Tenants',
    summary: 'Set the tenant’s own wording of an e-mail template',
    description: `Subject (one line), text body and HTML body. The only tags allowed are \`<%= name %>\` placeholders from the template's list: ${placeholdersDoc}. Any other tag (\`<% %>\`, \`<%- %>\`, \`<%# %>\`, a lone \`%>\`) or an unknown name is refused with 400 naming the field: templates never run code. Values are HTML-escaped in the HTML body, which Gatehouse frames with the tenant's logo and accent colour.`,
    scopes: ['admin:tenants'],
    params: templateParams,
    body: templateBody,
    response: templateView,
    errors: { 400: '`invalid_request`: a field is missing, too long, or uses a tag or placeholder it may not', 404: '`not_found`: no template of that name' },
    async handler(request) {
      const { app, tenant, params, body } = request;
      const name = nameOf(params.name);
      const problems = templateProblems(name, body);
      if (problems.length) throw new AppError('invalid_request', `Invalid body: ${problems.map((problem) => problem.replace(/^(\w+): /, '"$1": ')).join('; ')}`);
      const before = (await app.tenants.find(tenant))?.emailTemplates?.[name] ?? null;
      await app.tenants.setEmailTemplate(tenant, name, body, new Date(app.clock()));
      request.changed({ kind: 'tenant' });
      await request.audit({ type: 'tenant.email_template_set', target: { type: 'tenant', id: tenant }, before: before && { template: name, ...before }, after: { template: name, ...body } });
      return { name, placeholders: [...emailTemplatePlaceholders[name]], custom: true, ...body };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/tenants/:tenant/email-templates/:name',
    tag: 'Tenants',
    summary: 'Remove the tenant’s own wording of an e-mail template: Gatehouse’s is used again',
    scopes: ['admin:tenants'],
    params: templateParams,
    response: empty,
    status: 204,
    errors: { 404: '`not_found`: no template of that name' },
    async handler(request) {
      const { app, tenant, params } = request;
      const name = nameOf(params.name);
      const before = (await app.tenants.find(tenant))?.emailTemplates?.[name] ?? null;
      await app.tenants.setEmailTemplate(tenant, name, null, new Date(app.clock()));
      request.changed({ kind: 'tenant' });
      await request.audit({ type: 'tenant.email_template_removed', target: { type: 'tenant', id: tenant }, before: before && { template: name, ...before }, after: null });
      return {};
    },
  }),
];
