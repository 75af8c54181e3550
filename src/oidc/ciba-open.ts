/**
 * What Gatehouse keeps beside oidc-provider's CIBA requests, on the short-lived state port (Redis
 * when configured, so none of it reaches MongoDB then): each tenant's set of open requests, and one
 * marker per request that it has ended. A request ends once, by approval, denial or expiry: the
 * marker is written only if absent, so whichever instance, approver, poll or sweep writes it first
 * decides, and nobody else records an outcome (docs/ciba.md, "Expiry").
 */
import { createHash } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import { CIBA_REQUEST_LIFETIME_SECONDS } from './ttl.js';

/** An open request as the sweep reads it: enough to audit its expiry without the request itself. */
export interface OpenRequest {
  /** digest of the `auth_req_id` (the set's member): the id itself is a credential of the client and stays out */
  id: string;
  client: string;
  account: string;
  /** when it expires, epoch seconds */
  exp: number;
}

/** The request as oidc-provider hands it over (`BackchannelAuthenticationRequest`). */
export interface CibaRequestLike {
  jti: string;
  clientId?: string | undefined;
  accountId?: string | undefined;
  /** set on instances read back; a request just saved has only `expiration` (its lifetime, seconds) */
  exp?: number | undefined;
  expiration?: number | undefined;
}

/**
 * How long an end marker, the open set and its records live. A decision is taken no earlier than
 * the request's start, so its marker lives at least `SETTLED_SECONDS - CIBA_REQUEST_LIFETIME_SECONDS`
 * past the request's expiry: the sweep audits an entry only within that time ({@link stillAuditable}),
 * so a decided request whose entry outlived its removal is never taken for an expired one. A day is
 * far more than any sweep interval; a marker is a few bytes.
 */
export const SETTLED_SECONDS = 24 * 60 * 60;

/** A short, fixed-length stand-in for an `auth_req_id` in keys and set members. */
export function requestDigest(jti: string): string {
  return createHash('sha256').update(jti).digest('base64url').slice(0, 22);
}

/** The tenant's set of open requests (their digests). */
export function openRequestsKey(tenant: string): string {
  return tenantKey(tenant, 'ciba-open');
}

/** What the sweep needs of one open request ({@link OpenRequest} without its id). */
export function openRecordKey(tenant: string, id: string): string {
  return tenantKey(tenant, 'ciba-open-request', id);
}

/** Named `ciba-decided` since the approval API wrote it alone; expiry shares it now. */
function settledKey(tenant: string, id: string): string {
  return tenantKey(tenant, 'ciba-decided', id);
}

/** How a request ended, as its marker says. */
export type Ending = 'decided' | 'expired';

/** Writes the end marker of the request `id` ({@link requestDigest}) if no outcome has: true for the one caller that did. */
export function settleOnce(ephemeral: EphemeralStore, tenant: string, id: string, ending: Ending): Promise<boolean> {
  return ephemeral.set(settledKey(tenant, id), ending, { ttlSeconds: SETTLED_SECONDS, onlyIfAbsent: true });
}

/** Undoes {@link settleOnce} when what it stood for could not be recorded, so a later try can. */
export async function unsettle(ephemeral: EphemeralStore, tenant: string, id: string, ending: Ending): Promise<void> {
  await ephemeral.compareAndSet(settledKey(tenant, id), ending, undefined, SETTLED_SECONDS);
}

/** A record read back, or undefined when it is missing or not one of ours (then the entry is dropped). */
export function parseOpenRecord(id: string, raw: string | undefined): OpenRequest | undefined {
  if (raw === undefined) return undefined;
  try {
    const { client, account, exp } = JSON.parse(raw) as Partial<OpenRequest>;
    if (typeof client !== 'string' || typeof account !== 'string' || typeof exp !== 'number' || !Number.isSafeInteger(exp)) return undefined;
    return { id, client, account, exp };
  } catch {
    return undefined;
  }
}

/** Whether an entry this old can still be audited: see {@link SETTLED_SECONDS}. */
export function stillAuditable(entry: OpenRequest, nowMs: number): boolean {
  return nowMs < (entry.exp + SETTLED_SECONDS - CIBA_REQUEST_LIFETIME_SECONDS) * 1000;
}

/**
 * Called when a request is accepted, so the sweep finds it if nobody decides or polls it again.
 * Runs before the client hears the `auth_req_id`, so no request the client knows goes untracked.
 * The record first: a member without one is dropped by the sweep, a record without a member expires.
 */
export async function trackOpenRequest(ephemeral: EphemeralStore, tenant: string, request: CibaRequestLike): Promise<void> {
  const id = requestDigest(request.jti);
  // A request just saved carries its lifetime, not `exp`: taken from now (after the save, so never
  // earlier than the stored one) on the provider's clock, which judges the expiry.
  const exp = request.exp ?? Math.ceil(Date.now() / 1000) + (request.expiration ?? 0);
  const record = JSON.stringify({ client: request.clientId ?? '', account: request.accountId ?? '', exp });
  await ephemeral.writeInOrder([
    { op: 'set', key: openRecordKey(tenant, id), value: record, ttlSeconds: SETTLED_SECONDS },
    { op: 'addToSet', key: openRequestsKey(tenant), members: [id], ttlSeconds: SETTLED_SECONDS },
  ]);
}

/** Called once a request has ended (decided, or its expiry audited): nothing is left to sweep. */
export async function closeOpenRequest(ephemeral: EphemeralStore, tenant: string, id: string): Promise<void> {
  await ephemeral.writeInOrder([
    { op: 'removeFromSet', key: openRequestsKey(tenant), members: [id] },
    { op: 'delete', keys: [openRecordKey(tenant, id)] },
  ]);
}
