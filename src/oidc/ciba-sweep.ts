/**
 * The periodic sweep of CIBA requests nobody polls after their expiry (a ping client waits for a
 * ping that never comes; a poll client gave up): every instance runs it, over the open set of each
 * tenant with CIBA on, and the end marker of each request decides which instance audits it
 * (`ciba-expiry.ts`). Only the short-lived state port is read and written, so with Redis configured
 * nothing here reaches MongoDB but the list of tenants.
 */
import type { Logger } from 'pino';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import { BackendUnavailableError } from '../../adapters/unavailable.js';
import type { AuditRepository } from '../domain/audit.js';
import { auditExpiry } from './ciba-expiry.js';
import { closeOpenRequest, openRecordKey, openRequestsKey, parseOpenRecord, stillAuditable } from './ciba-open.js';

export interface SweepDeps {
  /** the ids of tenants with CIBA on, in id order, a page at a time */
  tenants: { withCibaEnabled(options: { after?: string; limit: number }): Promise<string[]> };
  ephemeral: EphemeralStore;
  audit: AuditRepository;
  logger: Logger;
  /** epoch ms; tests move it past expiries */
  clock: () => number;
}

const TENANT_PAGE = 100;
/** Records read per round trip. */
const RECORD_PAGE = 100;

/** One tenant's open requests that have expired: audited once, and dropped from the set. Answers how many this call audited. */
export async function sweepTenant(deps: SweepDeps, tenant: string, signal?: AbortSignal): Promise<number> {
  const ids = await deps.ephemeral.members(openRequestsKey(tenant));
  let audited = 0;
  for (let start = 0; start < ids.length && !signal?.aborted; start += RECORD_PAGE) {
    const page = ids.slice(start, start + RECORD_PAGE);
    const records = await deps.ephemeral.getMany(page.map((id) => openRecordKey(tenant, id)));
    const now = deps.clock();
    for (const [index, id] of page.entries()) {
      if (signal?.aborted) break;
      const entry = parseOpenRecord(id, records[index]);
      if (entry && entry.exp * 1000 > now) continue;
      if (entry && stillAuditable(entry, now)) {
        // Audited here, or ended already (decided, or audited by another poll or instance).
        if (await auditExpiry({ tenant, ephemeral: deps.ephemeral, audit: deps.audit }, entry)) audited += 1;
        else await closeOpenRequest(deps.ephemeral, tenant, id);
        continue;
      }
      // Older than any decision marker is kept, it cannot be told from a decided one any more.
      if (entry) deps.logger.warn({ tenant, client: entry.client, expiredAt: new Date(entry.exp * 1000).toISOString() }, 'CIBA request expired too long ago to audit: the sweep did not run for a day');
      // That one, and a member whose record is gone or not ours, are dropped.
      await closeOpenRequest(deps.ephemeral, tenant, id);
    }
  }
  return audited;
}

/**
 * One sweep of every tenant with CIBA on, until done or `signal` aborts (shutdown). A tenant that
 * fails is logged and the others go on; an unreachable backend ends the sweep at once (every other
 * tenant would fail alike, one log line each), and the next sweep tries again.
 */
export async function sweepExpiredCiba(deps: SweepDeps, signal?: AbortSignal): Promise<number> {
  let audited = 0;
  let after: string | undefined;
  while (!signal?.aborted) {
    const tenants = await deps.tenants.withCibaEnabled({ ...(after !== undefined ? { after } : {}), limit: TENANT_PAGE });
    for (const tenant of tenants) {
      if (signal?.aborted) break;
      try {
        audited += await sweepTenant(deps, tenant, signal);
      } catch (error) {
        if (error instanceof BackendUnavailableError) throw error;
        deps.logger.warn({ err: error, tenant }, 'CIBA expiry sweep failed for a tenant; the next sweep tries again');
      }
    }
    if (tenants.length < TENANT_PAGE) break;
    after = tenants.at(-1);
  }
  return audited;
}

export interface Sweeper {
  /** Stops the timer, and a sweep under way after the request it is at. */
  stop(): Promise<void>;
}

/**
 * Sweeps every `intervalSeconds` until stopped. The timer never keeps the process alive, and a
 * sweep still running when the next is due is not doubled.
 */
export function startCibaSweeper(deps: SweepDeps, intervalSeconds: number): Sweeper {
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= sweepExpiredCiba(deps, stopping.signal)
      .then(
        () => undefined,
        (error: unknown) => deps.logger.warn({ err: error }, 'CIBA expiry sweep failed; the next sweep tries again'),
      )
      .finally(() => (running = undefined));
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
