import { randomBytes } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { Change, ChangeFeed, ChangeKind } from '../../adapters/change-feed.js';

/**
 * The per-tenant change record in the short-lived store, which makes "seen everywhere once the
 * admin API has answered" hold although pub/sub may lose messages: whoever changes a tenant bumps
 * it before answering (`record`), and every instance reads it (one GET) before serving a request
 * for a tenant it has built (`TenantPool`), applying the changes it has not applied yet.
 *
 * `{epoch, seq, recent}`: `seq` counts the tenant's changes, `recent` holds the last
 * {@link RECENT} of them, and `epoch` is drawn when the record is created, so a record that
 * vanished (Redis restarted, expired) and was created again is never taken for the old one.
 */
export const RECENT = 32;
/** Long, and renewed by every change: a record that expires only costs its readers one flush. */
export const CHANGE_RECORD_TTL_SECONDS = 30 * 86400;
const MAX_ROUNDS = 64;

export interface ChangeRecord {
  epoch: string;
  seq: number;
  recent: Array<{ seq: number; kind: ChangeKind; id?: string }>;
}

/** What an instance last applied of a tenant's record: the raw value, so an unchanged one needs no parsing. */
export interface AppliedChanges {
  raw: string | undefined;
  record: ChangeRecord | undefined;
}

export function changeRecordKey(tenant: string): string {
  return tenantKey(tenant, 'changes');
}

function parseRecord(raw: string | undefined): ChangeRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(raw) as ChangeRecord;
    return typeof value.epoch === 'string' && Number.isSafeInteger(value.seq) && Array.isArray(value.recent) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Appends a change to the tenant's record (compare-and-set, so parallel writers each get their own seq). */
export async function recordChange(ephemeral: EphemeralStore, change: Change): Promise<void> {
  const key = changeRecordKey(change.tenant);
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const raw = await ephemeral.get(key);
    const current = parseRecord(raw) ?? { epoch: randomBytes(9).toString('base64url'), seq: 0, recent: [] };
    const seq = current.seq + 1;
    const entry = { seq, kind: change.kind, ...(change.id !== undefined ? { id: change.id } : {}) };
    const next: ChangeRecord = { epoch: current.epoch, seq, recent: [...current.recent, entry].slice(-RECENT) };
    if (await ephemeral.compareAndSet(key, raw, JSON.stringify(next), CHANGE_RECORD_TTL_SECONDS)) return;
  }
  throw new Error(`the change record of tenant ${change.tenant} is too contended to update`);
}

/** The tenant's record as it is now (one read; throws when the store cannot answer). */
export async function readChanges(ephemeral: EphemeralStore, tenant: string): Promise<string | undefined> {
  return ephemeral.get(changeRecordKey(tenant));
}

/**
 * What must be applied to go from `applied` to the record `raw`: the changes in between, or
 * `flush` when they cannot be told (the record vanished, was recreated, went backwards, or more
 * than {@link RECENT} changes happened). Callers compare raw strings first: equal means nothing.
 * Changes applied twice (heard on the feed, then found here) only cost a second invalidation.
 */
export function missedChanges(applied: AppliedChanges | undefined, raw: string | undefined): { next: AppliedChanges; changes: ChangeRecord['recent'] | 'flush' } {
  const record = parseRecord(raw);
  const next = { raw, record };
  const before = applied?.record;
  // An older record read late (parallel requests): what was applied since stays applied.
  if (record && before && record.epoch === before.epoch && record.seq < before.seq) return { next: applied!, changes: [] };
  // The record vanished (expired, Redis restarted) or is not one: what changed cannot be told.
  if (!record) return { next, changes: 'flush' };
  // Seen with no record yet, the changes since are those of a record that starts at seq 1. (A
  // record created, lost and created again between two reads is missed here, but losing it means
  // Redis restarted, and the feed's resubscription flushes every tenant.)
  const from = applied && applied.raw === undefined ? 0 : before && record.epoch === before.epoch ? before.seq : undefined;
  if (from === undefined) return { next, changes: 'flush' };
  const missed = record.recent.filter((entry) => entry.seq > from);
  const complete = record.seq === from || (missed.length > 0 && missed[0]!.seq === from + 1);
  return { next, changes: complete ? missed : 'flush' };
}

/**
 * Tells every instance of a change made here (the admin API, the CLI): with a feed that can lose
 * messages, the change record first (what the per-request check reads), then the feed. Rejects
 * when either fails, so the caller never reports a change as in force when it may not be.
 */
export async function announceChange(app: { ephemeral: EphemeralStore; changes: ChangeFeed }, change: Change): Promise<void> {
  if (app.changes.kind === 'redis') await recordChange(app.ephemeral, change);
  await app.changes.publish(change);
}
