import { renderPage } from '../http/views.js';
import type { RouteSpec } from './route.js';
import { adminApiIdentifier, adminScopes } from '../domain/admin-api.js';

type JsonSchema = Record<string, unknown>;

/** One row of a fields table: a parameter, a request body field or a response field. */
export interface FieldRow {
  /** dotted for nested objects, `[]` for array items: `branding.accent_color`, `items[].id` */
  name: string;
  type: string;
  required: boolean;
  constraints: string;
  description: string;
  /** path or query, for parameters */
  in?: string;
}

export interface OperationView {
  id: string;
  method: string;
  path: string;
  summary: string;
  description: string;
  scopes: string[];
  systemOnly: boolean;
  parameters: FieldRow[];
  body: FieldRow[] | null;
  status: string;
  response: FieldRow[] | null;
}

export interface DocsView {
  server: string;
  audience: string;
  scopes: Array<{ name: string; text: string }>;
  groups: Array<{ tag: string; id: string; operations: OperationView[] }>;
}

/** Nesting shown in the tables; deeper levels appear as `object`. */
const MAX_DEPTH = 4;

function variantsOf(schema: JsonSchema): JsonSchema[] {
  return ((schema['anyOf'] ?? schema['oneOf']) as JsonSchema[] | undefined) ?? [schema];
}

/** A readable type: `string`, `integer | null`, `"off" | "optional"`, `array of string`. */
function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema['enum'])) return (schema['enum'] as unknown[]).map((value) => JSON.stringify(value)).join(' | ');
  if (schema['const'] !== undefined) return JSON.stringify(schema['const']);
  if (schema['anyOf'] || schema['oneOf']) return [...new Set(variantsOf(schema).map(typeOf))].join(' | ');
  if (Array.isArray(schema['type'])) return (schema['type'] as string[]).join(' | ');
  if (schema['type'] === 'array') return `array of ${typeOf((schema['items'] as JsonSchema | undefined) ?? {})}`;
  if (typeof schema['type'] === 'string') return schema['type'];
  return schema['$ref'] ? 'object' : 'any';
}

function range(min: unknown, max: unknown, unit: string): string | undefined {
  if (typeof min === 'number' && typeof max === 'number') return `${min} to ${max}${unit}`;
  if (typeof min === 'number') return `at least ${min}${unit}`;
  if (typeof max === 'number') return `at most ${max}${unit}`;
  return undefined;
}

/** Length, range, pattern, format, default and item limits, as one short line. */
function constraintsOf(schema: JsonSchema): string {
  const parts: string[] = [];
  for (const variant of variantsOf(schema)) {
    if (variant['type'] === 'null') continue;
    const items = variant['type'] === 'array' ? (variant['items'] as JsonSchema | undefined) : undefined;
    parts.push(
      ...[
        range(variant['minLength'], variant['maxLength'], ' characters'),
        range(variant['minimum'], variant['maximum'], ''),
        range(variant['minItems'], variant['maxItems'], ' items'),
        typeof variant['pattern'] === 'string' ? `pattern ${variant['pattern']}` : undefined,
        // zod writes startsWith/endsWith/includes as a `format` beside the pattern that already says it
        typeof variant['format'] === 'string' && !/^(starts_with|ends_with|includes)$/.test(variant['format']) ? `format ${variant['format']}` : undefined,
        items && constraintsOf(items) ? `each: ${constraintsOf(items)}` : undefined,
      ].filter((part): part is string => Boolean(part)),
    );
  }
  if (schema['default'] !== undefined) parts.push(`default ${JSON.stringify(schema['default'])}`);
  return parts.join('; ');
}

/** The object variant of a schema (`anyOf: [object, null]` included), or an array's object items. */
function objectOf(schema: JsonSchema): JsonSchema | undefined {
  for (const variant of variantsOf(schema)) {
    if (variant['type'] === 'object' && variant['properties']) return variant;
    if (variant['type'] === 'array') {
      const items = variant['items'] as JsonSchema | undefined;
      if (items?.['type'] === 'object' && items['properties']) return items;
    }
  }
  return undefined;
}

/** Flattens an object schema into rows, nested fields under their parent's dotted name. */
export function fieldRows(schema: JsonSchema, prefix = '', depth = 0): FieldRow[] {
  const object = objectOf(schema);
  if (!object || depth >= MAX_DEPTH) return [];
  const required = new Set((object['required'] as string[] | undefined) ?? []);
  const rows: FieldRow[] = [];
  for (const [name, property] of Object.entries((object['properties'] as Record<string, JsonSchema>) ?? {})) {
    const full = `${prefix}${name}`;
    rows.push({ name: full, type: typeOf(property), required: required.has(name), constraints: constraintsOf(property), description: String(property['description'] ?? '') });
    const isArray = variantsOf(property).some((variant) => variant['type'] === 'array');
    rows.push(...fieldRows(property, `${full}${isArray ? '[]' : ''}.`, depth + 1));
  }
  return rows;
}

function jsonSchemaAt(content: unknown): JsonSchema | undefined {
  return (content as { 'application/json'?: { schema?: JsonSchema } } | undefined)?.['application/json']?.schema;
}

/**
 * The view of the OpenAPI document the reference page renders: operations grouped by tag, in the
 * order the routes are listed. `routes` adds what the document does not say (system tenant only).
 */
export function docsView(openapi: Record<string, unknown>, routes: RouteSpec[], publicUrl: string): DocsView {
  const systemOnly = new Set(routes.filter((route) => route.systemOnly).map((route) => `${route.method} ${route.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`));
  const groups = new Map<string, OperationView[]>();
  for (const [path, methods] of Object.entries(openapi['paths'] as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      const responses = operation['responses'] as Record<string, { content?: unknown }>;
      const status = Object.keys(responses).find((code) => code.startsWith('2')) ?? '200';
      const body = jsonSchemaAt((operation['requestBody'] as { content?: unknown } | undefined)?.content);
      const response = jsonSchemaAt(responses[status]?.content);
      const parameters = ((operation['parameters'] as Array<Record<string, unknown>> | undefined) ?? []).map((parameter) => ({
        name: String(parameter['name']),
        in: String(parameter['in']),
        type: typeOf(parameter['schema'] as JsonSchema),
        required: parameter['required'] === true,
        constraints: constraintsOf(parameter['schema'] as JsonSchema),
        description: String(parameter['description'] ?? ''),
      }));
      const tag = ((operation['tags'] as string[] | undefined) ?? ['Other'])[0]!;
      const list = groups.get(tag) ?? [];
      list.push({
        id: String(operation['operationId'] ?? `${method}-${path}`),
        method: method.toUpperCase(),
        path,
        summary: String(operation['summary'] ?? ''),
        description: String(operation['description'] ?? ''),
        scopes: ((operation['security'] as Array<{ bearer?: string[] }> | undefined)?.[0]?.bearer ?? []).slice(),
        systemOnly: systemOnly.has(`${method} ${path}`),
        parameters,
        body: body ? fieldRows(body) : null,
        status,
        response: response ? fieldRows(response) : null,
      });
      groups.set(tag, list);
    }
  }
  return {
    server: `${publicUrl}/admin/v1`,
    audience: adminApiIdentifier(publicUrl),
    scopes: Object.entries(adminScopes).map(([name, text]) => ({ name, text })),
    groups: [...groups].map(([tag, operations]) => ({ tag, id: `tag-${tag.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, operations })),
  };
}

/**
 * The reference page (`GET /admin/v1/docs`): plain HTML, no script, our stylesheet only. Rendered
 * once, on first request (it changes only with the code); a failed render is retried next time.
 */
export function docsPageRenderer(openapi: Record<string, unknown>, routes: RouteSpec[], publicUrl: string): () => Promise<string> {
  let page: Promise<string> | undefined;
  return () =>
    (page ??= renderPage('admin-docs', { title: 'Admin API reference', tenant: { id: 'system', name: 'Gatehouse' }, ...docsView(openapi, routes, publicUrl) }).catch((error: unknown) => {
      page = undefined;
      throw error;
    }));
}
