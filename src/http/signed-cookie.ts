import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';

/**
 * What our cookies and forms need of a tenant: MACs under its cookie keys. A `TenantContext`
 * (tenancy/) is one; naming only this keeps http/ below tenancy/.
 */
export interface TenantMac {
  /** with the newest cookie key */
  mac(purpose: string, value: string): string;
  /** with every cookie key, newest first, for values signed before a rotation */
  macAll(purpose: string, value: string): string[];
}

/**
 * Our own cookies (the account console's, the sign-in device cookie): `value.mac`, MACed with the tenant's cookie keys and
 * scoped to one path, `HttpOnly`, `SameSite=Lax`, `Secure` when the public URL is https.
 */
export function setSignedCookie(ctx: Context, tenant: TenantMac, name: string, value: string | null, options: { path: string; maxAgeMs?: number; secure: boolean }): void {
  const signed = value === null ? null : `${value}.${tenant.mac(`cookie:${name}`, value)}`;
  ctx.cookies.set(name, signed, {
    path: options.path,
    httpOnly: true,
    sameSite: 'lax',
    secure: options.secure,
    overwrite: true,
    ...(options.maxAgeMs !== undefined ? { maxAge: options.maxAgeMs } : {}),
  });
}

export function readSignedCookie(ctx: Context, tenant: TenantMac, name: string): string | undefined {
  const raw = ctx.cookies.get(name);
  if (!raw) return undefined;
  const dot = raw.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = raw.slice(0, dot);
  const mac = Buffer.from(raw.slice(dot + 1));
  const valid = tenant.macAll(`cookie:${name}`, value).some((expected) => {
    const candidate = Buffer.from(expected);
    return candidate.length === mac.length && timingSafeEqual(candidate, mac);
  });
  return valid ? value : undefined;
}
