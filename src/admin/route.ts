import type { Context } from 'koa';
import { z } from 'zod';
import type { Change } from '../../adapters/change-feed.js';
import type { AppContext } from '../app-context.js';
import type { NewAuditEvent } from '../domain/audit.js';
import { SYSTEM_TENANT } from '../domain/tenants.js';
import { AppError, validationError } from '../errors.js';
import { announceChange } from '../tenancy/change-log.js';
import type { TenantPool } from '../tenancy/pool.js';
import type { Principal } from './principal.js';
import type { AdminScope } from '../domain/admin-api.js';

export { validationError };

/** What a route handler gets: validated input, the caller, and the tenant it acts on. */
export interface AdminRequest<P, Q, B> {
  app: AppContext;
  pool: TenantPool;
  principal: Principal;
  /** the tenant acted on: the path's `{tenant}` (checked against the principal), else the principal's */
  tenant: string;
  params: P;
  query: Q;
  body: B;
  requestId: string;
  /** Writes an audit event for a change, with this request's actor, tenant and id. */
  audit(event: Pick<NewAuditEvent, 'type' | 'target' | 'before' | 'after' | 'details'> & { tenant?: string }): Promise<void>;
  /**
   * Says what the handler changed (the acted-on tenant unless named): applied to this instance at
   * once, and announced to every instance before the response is sent (a failed announcement
   * answers 503: the change is stored but may not be in force everywhere).
   */
  changed(change: Omit<Change, 'tenant'> & { tenant?: string }): void;
  ctx: Context;
}

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<P extends Schema | undefined = Schema | undefined, Q extends Schema | undefined = Schema | undefined, B extends Schema | undefined = Schema | undefined, R extends Schema = Schema> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Koa path below `/admin/v1`, e.g. `/tenants/:tenant/users/:id` */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** every scope listed is required */
  scopes: AdminScope[];
  /** only principals of the system tenant may call it (tenant management) */
  systemOnly?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** the success response's schema (also documents it); `status` defaults to 200 */
  response: R;
  status?: number;
  /** error responses with their stable `error` codes, by status: documented in the OpenAPI document */
  errors?: Partial<Record<400 | 404 | 409 | 429, string>>;
  handler(request: AdminRequest<Out<P>, Out<Q>, Out<B>>): Promise<z.input<R>>;
}

/** Keeps each route's types while collecting them in one list. */
export function defineRoute<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined, R extends Schema>(
  spec: RouteSpec<P, Q, B, R>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

function parse<S extends Schema | undefined>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): Out<S> {
  if (!schema) {
    if (where === 'query' && value && typeof value === 'object' && Object.keys(value).length > 0) {
      throw new AppError('invalid_request', `Unknown query parameter${Object.keys(value).length > 1 ? 's' : ''} ${Object.keys(value).map((key) => `"${key}"`).join(', ')}.`);
    }
    if (where === 'body' && value !== undefined && !(typeof value === 'object' && value !== null && Object.keys(value).length === 0)) {
      throw new AppError('invalid_request', 'This endpoint takes no request body.');
    }
    return undefined as Out<S>;
  }
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(where, result.error);
  return result.data as Out<S>;
}

/**
 * Decides which tenant a request acts on and whether the principal may: principals of the system
 * tenant act on any tenant; everyone else only on their own. The answer for another tenant is the
 * same 403 whether that tenant exists or not.
 */
export function actedOnTenant(principal: Principal, pathTenant: string | undefined): string {
  const tenant = pathTenant ?? principal.tenant;
  if (principal.tenant !== SYSTEM_TENANT && tenant !== principal.tenant) {
    throw new AppError('forbidden', `This token belongs to tenant "${principal.tenant}" and cannot act on another tenant.`);
  }
  return tenant;
}

/** Announces a request's changes to every instance; any failure is a 503, never a silent success. */
async function announceAll(app: AppContext, changes: Change[]): Promise<void> {
  for (const change of changes) {
    try {
      await announceChange(app, change);
    } catch (error) {
      throw new AppError('store_unavailable', 'The change was saved, but other instances could not be told of it: they may not apply it yet. Please try again shortly.', { cause: error });
    }
  }
}

/** Runs a route: scopes, tenant, validation, handler, response. */
export async function runRoute(spec: RouteSpec, ctx: Context, app: AppContext, pool: TenantPool): Promise<void> {
  const principal = ctx.state.principal as Principal;
  // A token for the admin API that carries no admin scope at all is a plain user's: nothing here is for it.
  if (principal.scopes.size === 0) throw new AppError('insufficient_scope', 'This token carries no admin permissions.');
  const missing = spec.scopes.filter((scope) => !principal.scopes.has(scope));
  if (missing.length) {
    ctx.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${spec.scopes.join(' ')}"`);
    throw new AppError('insufficient_scope', `This request needs the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`);
  }
  if (spec.systemOnly && principal.tenant !== SYSTEM_TENANT) {
    throw new AppError('forbidden', 'Only operators of the system tenant may do this.');
  }
  const params = parse(spec.params, ctx.params, 'path');
  const pathTenant = (ctx.params as Record<string, string | undefined>)['tenant'];
  const tenant = actedOnTenant(principal, pathTenant);
  if (pathTenant !== undefined && !(await app.tenants.find(tenant))) throw new AppError('not_found', `There is no tenant "${tenant}".`);
  const query = parse(spec.query, ctx.query, 'query');
  const body = parse(spec.body, (ctx.request as { body?: unknown }).body, 'body');
  const requestId = ctx.state.requestId as string;
  const changes: Change[] = [];
  const request: AdminRequest<unknown, unknown, unknown> = {
    app,
    pool,
    principal,
    tenant,
    params,
    query,
    body,
    requestId,
    ctx,
    changed: (change) => {
      const full = { ...change, tenant: change.tenant ?? tenant };
      pool.apply(full);
      changes.push(full);
    },
    audit: async (event) => {
      await app.audit.record({ tenant: event.tenant ?? tenant, type: event.type, actor: principal.actor, target: event.target, before: event.before, after: event.after, ...(event.details !== undefined ? { details: event.details } : {}), requestId });
    },
  };
  // A handler that fails after changing something still announces what it changed.
  let outcome: { result: unknown } | { error: unknown };
  try {
    outcome = { result: await spec.handler(request) };
  } catch (error) {
    outcome = { error };
  }
  await announceAll(app, changes);
  if ('error' in outcome) throw outcome.error;
  const { result } = outcome;
  ctx.status = spec.status ?? 200;
  ctx.body = ctx.status === 204 ? undefined : spec.response.parse(result);
}
