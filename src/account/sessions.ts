import { createHash, randomBytes } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';

/**
 * What the console keeps of a sign-in: who (`sub`), which provider session (`sid`) and how the user
 * signed in (`acr`, `amr`, `auth_time`: what MFA enrolment or a CIBA approval must check), until
 * `exp` (epoch seconds). No token: the console reads the profile from the user repository, so a
 * token kept would only be something to steal.
 */
export interface ConsoleSession {
  sub: string;
  sid?: string;
  acr?: string;
  amr?: string[];
  auth_time?: number;
  exp: number;
}

/** How long a console session lasts after sign-in (the account client's access tokens lasted as long). */
export const CONSOLE_SESSION_SECONDS = 60 * 60;

/**
 * The account console's own sessions, in the short-lived state under the tenant's prefix (so they
 * expire by themselves, go with the tenant, and signing out removes them on every instance). The
 * cookie carries a random id and the key is its hash, so a dump of the store yields no cookie.
 */
export class ConsoleSessions {
  constructor(
    private readonly ephemeral: EphemeralStore,
    private readonly now: () => number,
  ) {}

  #key(tenant: string, id: string): string {
    return tenantKey(tenant, 'console', createHash('sha256').update(id).digest('base64url'));
  }

  /** Starts a session and answers the id for the cookie. */
  async create(tenant: string, session: Omit<ConsoleSession, 'exp'>): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const stored: ConsoleSession = { ...session, exp: Math.floor(this.now() / 1000) + CONSOLE_SESSION_SECONDS };
    await this.ephemeral.set(this.#key(tenant, id), JSON.stringify(stored), { ttlSeconds: CONSOLE_SESSION_SECONDS });
    return id;
  }

  /** The live session of a cookie's id; an expired one counts as none even if its key lingers. */
  async find(tenant: string, id: string): Promise<ConsoleSession | undefined> {
    const raw = await this.ephemeral.get(this.#key(tenant, id));
    if (raw === undefined) return undefined;
    const session = JSON.parse(raw) as ConsoleSession;
    return session.exp * 1000 > this.now() ? session : undefined;
  }

  async delete(tenant: string, id: string): Promise<void> {
    await this.ephemeral.delete([this.#key(tenant, id)]);
  }
}
