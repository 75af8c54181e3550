import { randomUUID } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';

/** Who did something: a user, a client (service account) or an API key, of some tenant. */
export interface AuditActor {
  type: 'user' | 'client' | 'api_key' | 'system' | 'anonymous';
  id: string;
  tenant: string;
}

export interface AuditEvent {
  _id: string;
  /** the tenant acted on */
  tenant: string;
  /** e.g. `user.created`, `client.secret_rotated` */
  type: string;
  actor: AuditActor;
  target: { type: string; id: string };
  /** the changed resource before and after, secrets and hashes removed by the caller */
  before?: unknown;
  after?: unknown;
  /** what the change caused beyond the resource itself, e.g. the sessions a disable ended */
  details?: unknown;
  requestId?: string;
  at: Date;
}

/**
 * Audit types of second factors (who enrolled, removed or used what; never a code or a secret).
 * `factors_reset`: an admin removed every factor of a user.
 */
export const mfaAuditEvents = {
  factorEnrolled: 'mfa.factor_enrolled',
  factorRemoved: 'mfa.factor_removed',
  factorRenamed: 'mfa.factor_renamed',
  factorsReset: 'mfa.factors_reset',
  recoveryCodesGenerated: 'mfa.recovery_codes_generated',
  succeeded: 'mfa.succeeded',
  failed: 'mfa.failed',
  recoveryCodeUsed: 'mfa.recovery_code_used',
  /** a WebAuthn assertion whose counter did not increase: possibly a cloned authenticator */
  webauthnCounterRegressed: 'mfa.webauthn_counter_regressed',
} as const;

/**
 * Device logins (RFC 8628): approved when the sign-in on the second screen finished, denied from
 * the confirmation page or by cancelling the sign-in (then the actor is `anonymous` unless the
 * browser was signed in already).
 */
export const deviceAuditEvents = {
  approved: 'device.approved',
  denied: 'device.denied',
} as const;

/**
 * Sign-ins of an account, for its owner's "Recent activity" and for operators: a finished sign-in
 * (with how, and through which client) and a wrong password given for an existing, enabled account.
 * A wrong guess at an unknown identifier has no account to record it against, and stays in the log.
 */
export const accountAuditEvents = {
  signedIn: 'user.signed_in',
  signInFailed: 'user.sign_in_failed',
  signedUp: 'user.signed_up',
} as const;

export type NewAuditEvent = Omit<AuditEvent, '_id' | 'at'>;

/**
 * The audit trail: one event per change, newest first when listed. `_id`s sort by time (a
 * zero-padded millisecond prefix), so cursors are just the last `_id` seen.
 */
export class AuditRepository {
  readonly #events: Collection<AuditEvent>;

  constructor(store: Store) {
    this.#events = store.collection<AuditEvent>('audit_events');
  }

  async record(event: NewAuditEvent, now = new Date()): Promise<AuditEvent> {
    const stored: AuditEvent = { ...event, _id: `${now.getTime().toString().padStart(15, '0')}-${randomUUID()}`, at: now };
    await this.#events.insertOne(stored);
    return stored;
  }

  /** Events of a tenant, newest first, optionally filtered; `before` is the cursor (an event id). */
  async list(tenant: string, options: { type?: string; actor?: string; before?: string; limit: number }): Promise<AuditEvent[]> {
    const filter: Record<string, unknown> = { tenant };
    if (options.type) filter['type'] = options.type;
    if (options.actor) filter['actor.id'] = options.actor;
    if (options.before) filter['_id'] = { $lt: options.before };
    return this.#events.find(filter, { sort: { _id: -1 }, limit: options.limit });
  }

  /**
   * The events about one account (target: the user), newest first: its sign-ins and failures, its
   * factor changes, what admins changed on it. What the account console's activity page shows.
   */
  async listForAccount(tenant: string, userId: string, limit: number): Promise<AuditEvent[]> {
    return this.#events.find({ tenant, 'target.id': userId, 'target.type': 'user' }, { sort: { _id: -1 }, limit });
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#events.deleteMany({ tenant });
  }
}
