import { timingSafeEqual } from 'node:crypto';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { TenantMac } from './signed-cookie.js';

/** URL-encoded form bodies only, bounded in size; anything else is not a form of ours. */
export function formBody(limitBytes: number): Middleware {
  return bodyParser({ enableTypes: ['form'], formLimit: limitBytes, encoding: 'utf-8' }) as unknown as Middleware;
}

/** A CSRF token for a form, bound to the tenant's cookie key and to what the form acts on. */
export function csrfTokenFor(tenant: TenantMac, binding: string): string {
  return tenant.mac('csrf', binding);
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks a form POST: a browser that sends `Origin` must send ours, and the `csrf` field must be the
 * token we issued for this binding (any current cookie key, so a key rotation does not break forms
 * already on screen). Fails closed with 403.
 */
export function verifyForm(ctx: Context, tenant: TenantMac, binding: string, publicOrigin: string): Record<string, unknown> {
  const origin = ctx.get('origin');
  if (origin && origin !== publicOrigin) throw new AppError('forbidden_origin', 'This form was submitted from another site.');
  const body = (ctx.request as { body?: unknown }).body;
  const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const token = fields['csrf'];
  if (typeof token !== 'string' || !tenant.macAll('csrf', binding).some((expected) => equal(expected, token))) {
    throw new AppError('invalid_csrf_token', 'This form has expired or was not sent by this site. Go back, reload the page and try again.');
  }
  return fields;
}

/** Parses form fields with a zod schema; a field of the wrong shape (e.g. `a[b]=c`) is a 400. */
export function parseFields<T extends z.ZodType>(schema: T, fields: Record<string, unknown>): z.infer<T> {
  const result = schema.safeParse(fields);
  if (!result.success) throw new AppError('invalid_request', 'The form was not filled in as expected.');
  return result.data;
}
