import { randomBytes } from 'node:crypto';
import type { Collection, Store } from '../../adapters/store.js';

interface AccountSessionDoc {
  _id: string;
  tenant: string;
  sub: string;
  idToken: string;
  accessToken: string;
  expiresAt: Date;
}

export type AccountSession = Omit<AccountSessionDoc, '_id'> & { id: string };

/**
 * The account console's own sessions: what it got from its tenant's token endpoint, kept in the
 * store (not the cookie) so signing out removes them everywhere. They end with the access token.
 */
export class AccountSessions {
  readonly #sessions: Collection<AccountSessionDoc>;

  constructor(store: Store) {
    this.#sessions = store.collection<AccountSessionDoc>('account_sessions');
  }

  async create(session: Omit<AccountSession, 'id'>): Promise<string> {
    const id = randomBytes(24).toString('base64url');
    await this.#sessions.insertOne({ _id: id, ...session });
    return id;
  }

  async find(tenant: string, id: string, now = new Date()): Promise<AccountSession | null> {
    const doc = await this.#sessions.findOne({ _id: id, tenant });
    if (!doc || doc.expiresAt <= now) return null;
    const { _id, ...rest } = doc;
    return { id: _id, ...rest };
  }

  async delete(tenant: string, id: string): Promise<void> {
    await this.#sessions.deleteOne({ _id: id, tenant });
  }
}
