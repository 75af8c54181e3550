import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { DEVICE_LIFETIME_SECONDS, type KnownDevices } from '../authn/known-devices.js';
import { readSignedCookie, setSignedCookie, type TenantMac } from './signed-cookie.js';

/** What of a tenant the device cookie needs: its cookie key, its id (revocations) and its path. */
type DeviceTenant = TenantMac & { id: string; issuer: string };

/**
 * The device cookie: proof that this browser signed in to an account before, so its failed
 * attempts count against a budget of its own (see authn/sign-in-throttle.ts). One cookie per
 * tenant (scoped to the tenant's path, signed with the tenant's cookie key) lists up to
 * {@link MAX_ACCOUNTS} entries `accountId.deviceId.issuedAt`, newest first.
 */
const COOKIE = 'gatehouse.device';
const MAX_ACCOUNTS = 5;
const entryPattern = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{22})\.([0-9]{10,13})$/;

interface Entry {
  accountId: string;
  deviceId: string;
  /** epoch ms */
  issuedAt: number;
}

function readEntries(ctx: Context, tenant: DeviceTenant): Entry[] {
  const value = readSignedCookie(ctx, tenant, COOKIE);
  if (!value) return [];
  const entries: Entry[] = [];
  for (const part of value.split('~').slice(0, MAX_ACCOUNTS)) {
    const match = entryPattern.exec(part);
    if (match) entries.push({ accountId: match[1]!, deviceId: match[2]!, issuedAt: Number(match[3]) });
  }
  return entries;
}

function cookiePath(tenant: DeviceTenant): string {
  return new URL(tenant.issuer).pathname;
}

/**
 * The device id this browser holds for `accountId`, when its entry is genuine, unexpired and issued
 * after the account's devices were last revoked. The revocation is read only when the browser has an
 * entry for the account, so browsers without one (an attacker's) cost nothing extra.
 */
export async function knownDeviceOf(ctx: Context, tenant: DeviceTenant, devices: KnownDevices, accountId: string, now: number): Promise<string | undefined> {
  const entry = readEntries(ctx, tenant).find((candidate) => candidate.accountId === accountId);
  if (!entry || entry.issuedAt > now + 60_000 || now - entry.issuedAt > DEVICE_LIFETIME_SECONDS * 1000) return undefined;
  if (entry.issuedAt <= (await devices.revokedAt(tenant.id, accountId))) return undefined;
  return entry.deviceId;
}

/** Marks this browser as a known device of `accountId` (keeping its device id), renewed for the full lifetime. */
export function rememberDevice(ctx: Context, tenant: DeviceTenant, accountId: string, now: number, secure: boolean): void {
  const entries = readEntries(ctx, tenant);
  const existing = entries.find((entry) => entry.accountId === accountId);
  const deviceId = existing?.deviceId ?? randomBytes(16).toString('base64url');
  const kept = entries.filter((entry) => entry.accountId !== accountId).slice(0, MAX_ACCOUNTS - 1);
  const value = [{ accountId, deviceId, issuedAt: now }, ...kept].map((entry) => `${entry.accountId}.${entry.deviceId}.${entry.issuedAt}`).join('~');
  setSignedCookie(ctx, tenant, COOKIE, value, { path: cookiePath(tenant), maxAgeMs: DEVICE_LIFETIME_SECONDS * 1000, secure });
}
