import { z } from 'zod';
import type { RouteSpec } from './route.js';
import { adminApiIdentifier, adminScopes } from '../domain/admin-api.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/tenants/:tenant/users/:id` -> `/tenants/{tenant}/users/{id}` */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  required: ['error', 'error_description'],
};

function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

/**
 * The OpenAPI 3.1 document of the admin API, generated from the route definitions' zod schemas,
 * so the document and the validation can never disagree.
 */
export function buildOpenApi(publicUrl: string, routes: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
      if (!schema) continue;
      const json = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, property] of Object.entries(json.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: property, ...(property['description'] ? { description: property['description'] } : {}) });
      }
    }
    const status = String(route.status ?? 200);
    paths[openApiPath(route.path)] ??= {};
    paths[openApiPath(route.path)]![route.method] = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      operationId: `${route.method}${route.path.replace(/[/:](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}`,
      security: [{ bearer: route.scopes }],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } } : {}),
      responses: {
        [status]: status === '204' ? { description: 'Done' } : { description: 'Success', content: { 'application/json': { schema: schemaOf(route.response, 'output') } } },
        400: errorResponse('Invalid input: the description names the field'),
        401: errorResponse('Missing, expired or invalid access token'),
        403: errorResponse('Missing scope, or another tenant than the token’s'),
        404: errorResponse('Not found'),
        ...(route.method === 'post' ? { 409: errorResponse('Already exists') } : {}),
        413: errorResponse('Request body too large'),
        // A route's own error codes replace the generic descriptions of their statuses.
        ...Object.fromEntries(Object.entries(route.errors ?? {}).map(([code, description]) => [code, errorResponse(description)])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description: `Manage tenants, users, clients, APIs, roles and service accounts. Authenticate with an access token for the resource \`${adminApiIdentifier(publicUrl)}\` (client credentials or authorization code with \`resource\`), or a service-account API key, as \`Authorization: Bearer ...\`.`,
    },
    servers: [{ url: `${publicUrl}/admin/v1` }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: `Scopes: ${Object.entries(adminScopes).map(([scope, text]) => `\`${scope}\` ${text}`).join('; ')}` },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}
