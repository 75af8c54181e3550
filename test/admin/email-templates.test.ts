import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTemplate, templateProblems } from '../../src/domain/email-templates.js';
import { mailTenantOf, renderTemplateMail } from '../../src/messaging/template-mail.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { tenantAdmin } from './client-helpers.js';
import { adminToken, call, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;
let root: string;

beforeAll(async () => {
  gh = await startAdminGatehouse();
  root = await adminToken(gh);
  for (const id of ['acme', 'rival']) expect((await call(gh, root, 'POST', '/tenants', { id, display_name: id === 'acme' ? 'Acme & Co' : 'Rival' })).status).toBe(201);
});
afterAll(() => gh.stop());

const GOOD = {
  subject: 'Reset at <%= tenant_name %>',
  text: 'Hi <%=user_name%>, go to <%= link %> within <%= expires_minutes %> minutes.',
  html: '<p>Hi <%= user_name %>, <a href="<%= link %>">reset</a></p>',
};

async function stored(tenant: string) {
  return (await gh.app.tenants.find(tenant))?.emailTemplates;
}

describe('PUT /tenants/{tenant}/email-templates/{name}', () => {
  it('stores the tenant’s wording, audited, and mails use it with values escaped in HTML', async () => {
    const put = await call(gh, root, 'PUT', '/tenants/acme/email-templates/password_reset', GOOD);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: 'password_reset', custom: true, subject: GOOD.subject });
    const read = await call(gh, root, 'GET', '/tenants/acme/email-templates/password_reset');
    expect(read.body).toMatchObject({ custom: true, ...GOOD, placeholders: ['tenant_name', 'user_name', 'link', 'expires_minutes'] });
    const [event] = await gh.app.audit.list('acme', { type: 'tenant.email_template_set', limit: 5 });
    expect(event?.after).toMatchObject({ template: 'password_reset', subject: GOOD.subject });

    const tenant = (await gh.app.tenants.find('acme'))!;
    const mail = renderTemplateMail(mailTenantOf(tenant, gh.issuer('acme')), { template: 'password_reset', values: { user_name: '<script>alert(1)</script>', link: 'https://id.example/t/acme/password-reset/x?a=1&b="2"', expires_minutes: '30' } });
    expect(mail.subject).toBe('Reset at Acme & Co');
    expect(mail.text).toContain('Hi <script>alert(1)</script>, go to https://id.example/t/acme/password-reset/x?a=1&b="2" within 30 minutes.');
    expect(mail.html).toContain('Hi &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.html).toContain('href="https://id.example/t/acme/password-reset/x?a=1&amp;b=&quot;2&quot;"');
    expect(mail.html).not.toContain('<script>');
    // The frame carries the tenant's name, escaped.
    expect(mail.html).toContain('Acme &amp; Co');
  });

  it.each([
    ['a scriptlet', { html: '<p><% process.exit(1) %></p>' }, '"html": only <%= name %> placeholders'],
    ['an unescaped output tag', { html: '<p><%- user_name %></p>' }, '"html": only <%= name %> placeholders'],
    ['a comment tag', { text: 'Hi <%# note %>' }, '"text": only <%= name %> placeholders'],
    ['a whitespace-slurping tag', { text: 'Hi <%_ user_name _%>' }, '"text": only <%= name %> placeholders'],
    ['an expression in an output tag', { text: 'Hi <%= user_name.toUpperCase() %>' }, '"text": only <%= name %> placeholders'],
    ['a global as a name', { subject: 'Hi <%= process %>' }, '"subject": unknown placeholder "process"'],
    ['another template’s placeholder', { text: 'Your code <%= code %>' }, '"text": unknown placeholder "code"'],
    ['a lone closing tag', { html: 'a %> b' }, '"html": only <%= name %> placeholders'],
    ['a subject on two lines', { subject: 'Hi\r\nBcc: eve@evil.test' }, '"subject": must be one line'],
    ['an empty body', { text: '' }, '"text": must not be empty'],
    ['an oversized HTML body', { html: 'x'.repeat(32 * 1024 + 1) }, '"html": at most'],
    ['an oversized subject', { subject: 'x'.repeat(201) }, '"subject": at most'],
  ])('refuses %s with 400 naming the field, storing nothing', async (_case, change, message) => {
    const before = await stored('rival');
    const response = await call(gh, root, 'PUT', '/tenants/rival/email-templates/password_reset', { ...GOOD, ...change });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
    expect(response.body.error_description).toContain(message);
    expect(await stored('rival')).toEqual(before);
  });

  it('refuses unknown and missing fields, wrong types, and unknown templates', async () => {
    expect((await call(gh, root, 'PUT', '/tenants/rival/email-templates/password_reset', { ...GOOD, engine: 'ejs' })).body.error_description).toContain('unknown or read-only field "engine"');
    expect((await call(gh, root, 'PUT', '/tenants/rival/email-templates/password_reset', { subject: 'x', text: 'y' })).body.error_description).toContain('"html"');
    expect((await call(gh, root, 'PUT', '/tenants/rival/email-templates/password_reset', { ...GOOD, html: { $ne: null } })).status).toBe(400);
    const unknown = await call(gh, root, 'PUT', '/tenants/rival/email-templates/__proto__', GOOD);
    expect(unknown.status).toBe(404);
    expect((await call(gh, root, 'GET', '/tenants/rival/email-templates/constructor')).status).toBe(404);
  });

  it('a tenant admin manages only its own tenant’s templates', async () => {
    const { token } = await tenantAdmin(gh, 'rival', 'rival-ops', ['admin:tenants']);
    expect((await call(gh, token, 'PUT', '/tenants/rival/email-templates/verify_email', { subject: 'Verify', text: '<%= link %> <%= code %>', html: '<a href="<%= link %>">go</a>' })).status).toBe(200);
    expect((await call(gh, token, 'PUT', '/tenants/acme/email-templates/verify_email', GOOD)).status).toBe(403);
    expect((await call(gh, token, 'DELETE', '/tenants/acme/email-templates/password_reset')).status).toBe(403);
    expect((await stored('acme'))?.password_reset?.subject).toBe(GOOD.subject);
  });
});

describe('GET and DELETE', () => {
  it('lists every template with its placeholders; deleting one brings Gatehouse’s wording back, audited', async () => {
    const list = await call(gh, root, 'GET', '/tenants/acme/email-templates');
    expect(list.body.items?.map((item) => item['name'])).toEqual(['verify_email', 'password_reset', 'password_changed', 'email_changed', 'factor_changed', 'signup_duplicate']);
    expect(list.body.items?.find((item) => item['name'] === 'password_reset')?.['custom']).toBe(true);
    expect((await call(gh, root, 'DELETE', '/tenants/acme/email-templates/password_reset')).status).toBe(204);
    const read = await call(gh, root, 'GET', '/tenants/acme/email-templates/password_reset');
    expect(read.body).toMatchObject({ custom: false, subject: 'Reset your <%= tenant_name %> password' });
    expect(await gh.app.audit.list('acme', { type: 'tenant.email_template_removed', limit: 5 })).toHaveLength(1);
  });

  it('the OpenAPI document lists the template endpoints', async () => {
    const response = await fetch(`${gh.origin}/admin/v1/openapi.json`);
    const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(document.paths['/tenants/{tenant}/email-templates/{name}'] ?? {})).toEqual(expect.arrayContaining(['get', 'put', 'delete']));
  });
});

describe('the substitution', () => {
  it('fills in one pass: a value that looks like a placeholder stays as it is', () => {
    expect(fillTemplate('<%= user_name %> / <%= link %>', { user_name: '<%= link %>', link: 'L' }, 'text')).toBe('<%= link %> / L');
  });

  it('every default template passes the rules tenants are held to', async () => {
    const { defaultEmailTexts } = await import('../../src/messaging/email-texts.js');
    for (const [name, template] of Object.entries(defaultEmailTexts['en']!)) expect(templateProblems(name as 'verify_email', template)).toEqual([]);
  });
});
