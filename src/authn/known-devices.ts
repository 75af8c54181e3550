import type { Collection, Store } from '../../adapters/store.js';

interface RevocationDoc {
  _id: string;
  tenant: string;
  accountId: string;
  /** epoch ms: device cookies issued before this no longer count as known devices */
  revokedAt: number;
}

/** Device cookies live this long after the last sign-in that renewed them. */
export const DEVICE_LIFETIME_SECONDS = 90 * 24 * 60 * 60;

/**
 * Revocation of an account's device cookies (the browsers that keep their own sign-in budget).
 * The cookies themselves are signed and carry their issue time; revoking stores one timestamp per
 * account, so every cookie issued before it stops counting, on every instance.
 */
export class KnownDevices {
  readonly #revocations: Collection<RevocationDoc>;

  constructor(store: Store) {
    this.#revocations = store.collection<RevocationDoc>('sign_in_devices');
  }

  /** Epoch ms before which the account's device cookies are void (0 when never revoked). */
  async revokedAt(tenant: string, accountId: string): Promise<number> {
    return (await this.#revocations.findOne({ _id: `${tenant}:${accountId}` }))?.revokedAt ?? 0;
  }

  async revokeAll(tenant: string, accountId: string, now = Date.now()): Promise<void> {
    await this.#revocations.updateOne({ _id: `${tenant}:${accountId}` }, { $set: { tenant, accountId, revokedAt: now } }, { upsert: true });
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.#revocations.deleteMany({ tenant });
  }
}
