import * as cheerio from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldRows } from '../../src/admin/docs-page.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { adminApi, startAdminGatehouse } from './helpers.js';

let gh: TestGatehouse;

beforeAll(async () => {
  gh = await startAdminGatehouse();
});
afterAll(() => gh.stop());

describe('GET /admin/v1/docs', () => {
  it('is a public HTML page listing every operation with its scopes, fields and responses, within the CSP', async () => {
    const response = await fetch(`${adminApi(gh)}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    // The CSP forbids inline styles and scripts; nothing is loaded from elsewhere.
    expect(html).not.toMatch(/<script|style=|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    const $ = cheerio.load(html);

    const create = $('#postTenants');
    expect(create.find('h3').text().replace(/\s+/g, ' ')).toBe('POST /tenants');
    expect(create.text()).toContain('admin:tenants');
    expect(create.text()).toContain('system tenant only');
    // Request body fields, nested ones under their parent, with type, required and constraints.
    const idRow = create.find('h4:contains("Request body") + div tr').filter((_i, row) => $(row).find('td code').first().text() === 'display_name');
    expect(idRow.find('td').eq(2).text()).toBe('yes');
    expect(idRow.find('td').eq(3).text()).toBe('1 to 100 characters');
    expect(create.text()).toContain('branding.accent_color');
    expect(create.text()).toContain('Response 201');

    // Every operation of the OpenAPI document is on the page, grouped by tag.
    const openapi = (await (await fetch(`${adminApi(gh)}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string; tags: string[] }>> };
    for (const methods of Object.values(openapi.paths)) {
      for (const operation of Object.values(methods)) {
        const section = $(`#${operation.operationId}`).closest('section');
        expect(section.find('h2').first().text(), operation.operationId).toBe(operation.tags[0]);
      }
    }
    // Paging parameters and list responses.
    const list = $('#getTenants');
    expect(list.text()).toContain('limit');
    expect(list.text()).toContain('1 to 100; default 20');
    expect(list.text()).toContain('items[].issuer');
    expect(list.text()).toContain('next_cursor');
  });

  it('describes nullable, enum, array and nested fields', () => {
    const rows = fieldRows({
      type: 'object',
      required: ['roles'],
      properties: {
        host: { anyOf: [{ type: 'string', maxLength: 253 }, { type: 'null' }] },
        mfa: { type: 'string', enum: ['off', 'required'] },
        roles: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 50 },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } },
      },
    });
    expect(rows).toEqual([
      { name: 'host', type: 'string | null', required: false, constraints: 'at most 253 characters', description: '' },
      { name: 'mfa', type: '"off" | "required"', required: false, constraints: '', description: '' },
      { name: 'roles', type: 'array of string', required: true, constraints: 'at most 50 items; each: at most 64 characters', description: '' },
      { name: 'items', type: 'array of object', required: false, constraints: '', description: '' },
      { name: 'items[].id', type: 'string', required: false, constraints: '', description: '' },
    ]);
  });
});
