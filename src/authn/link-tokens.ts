import { createHash, randomBytes } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';

/** 32 random bytes, base64url: what a link token looks like; anything else is refused unread. */
const tokenShape = /^[A-Za-z0-9_-]{43}$/;

/**
 * Single-use tokens for links in e-mails (verification, password reset): 256 random bits, kept in
 * the short-lived store under their SHA-256 only (whoever reads the store cannot open the links),
 * bound to the tenant by the key's prefix and to `kind`, expiring by the store's TTL and by the
 * record's own `expiresAt` (the app's clock). `peek` reads without using (a confirm page that a mail
 * scanner may GET); `consume` takes the record atomically, so of parallel uses one wins.
 */
export class LinkTokens<T extends object> {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly kind: string,
    private readonly clock: () => number,
  ) {}

  #key(tenant: string, token: string): string {
    return tenantKey(tenant, 'link', this.kind, createHash('sha256').update(token).digest('base64url'));
  }

  async issue(tenant: string, data: T, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.clock() + ttlSeconds * 1000;
    await this.ephemeral.set(this.#key(tenant, token), JSON.stringify({ data, expiresAt }), { ttlSeconds });
    return { token, expiresAt };
  }

  #live(raw: string | undefined): T | undefined {
    if (raw === undefined) return undefined;
    const record = JSON.parse(raw) as { data: T; expiresAt: number };
    return record.expiresAt > this.clock() ? record.data : undefined;
  }

  /** The token's data while it is live, without using it. */
  async peek(tenant: string, token: string): Promise<T | undefined> {
    if (!tokenShape.test(token)) return undefined;
    return this.#live(await this.ephemeral.get(this.#key(tenant, token)));
  }

  /** Uses the token: its data once, then never again (an expired one is taken too, and refused). */
  async consume(tenant: string, token: string): Promise<T | undefined> {
    if (!tokenShape.test(token)) return undefined;
    return this.#live(await this.ephemeral.take(this.#key(tenant, token)));
  }
}
