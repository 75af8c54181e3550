import { z } from 'zod';
import { createOidcModelAdapter, type OidcAdapter } from '../../adapters/oidc-adapter.js';
import type { Store } from '../../adapters/store.js';

/** The model name of remembered consent in the `oidc` collection. */
export const CONSENT_MODEL = 'Consent';

/** What a user allowed, in the shape of oidc-provider's Grant (`openid` and `resources`). */
export interface ConsentedAccess {
  /** OIDC scopes, space separated */
  scope: string;
  /** OIDC claims asked for by name (the `claims` parameter) */
  claims: string[];
  /** API scopes (space separated) by resource indicator */
  resources: Record<string, string>;
}

const storedConsent = z.object({
  accountId: z.string(),
  clientId: z.string(),
  clientCreatedAt: z.number(),
  // as in oidc-provider's Grant payload
  openid: z.object({ scope: z.string(), claims: z.array(z.string()) }),
  resources: z.record(z.string(), z.string()),
  grantedAt: z.number(),
  updatedAt: z.number(),
});

/**
 * One user's consent to one client, kept after every session ends, until the user is disabled or
 * deleted (`end-sessions.ts`) or revokes it.
 */
export type RememberedConsent = z.infer<typeof storedConsent>;

/** Space-separated scope lists joined without repeats. */
function unionScopes(...lists: Array<string | undefined>): string {
  return [...new Set(lists.flatMap((list) => (list ? list.split(' ') : [])).filter(Boolean))].join(' ');
}

/** What a remembered consent allows. */
export function accessOf(consent: RememberedConsent): ConsentedAccess {
  return { scope: consent.openid.scope, claims: consent.openid.claims, resources: consent.resources };
}

/** Two grants of access joined: what either allowed. */
function unionAccess(a: ConsentedAccess, b: ConsentedAccess): ConsentedAccess {
  const resources: Record<string, string> = { ...a.resources };
  for (const [indicator, scope] of Object.entries(b.resources)) resources[indicator] = unionScopes(resources[indicator], scope);
  return { scope: unionScopes(a.scope, b.scope), claims: [...new Set([...a.claims, ...b.claims])], resources };
}

/**
 * Remembered consent of one tenant. The provider's grants live as long as a session (RP-initiated
 * logout revokes them), so what the user allowed is kept apart from them: one record per (account,
 * client), model {@link CONSENT_MODEL} in the `oidc` collection. It carries `accountId`, so the
 * adapter's account lookup finds it as it finds sessions and grants: `end-sessions.ts` forgets it
 * with them, and an account's "connected apps" can be listed (`OidcAccountIndex.find`).
 *
 * A record is bound to the client's registration time: a client deleted and registered again under
 * the same id is another app, and inherits nothing.
 */
export class ConsentMemory {
  readonly #records: OidcAdapter;

  constructor(
    store: Store,
    tenantId: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#records = createOidcModelAdapter(store, tenantId, CONSENT_MODEL, { now });
  }

  /** The record's id: the client first, so one client's records sort together; both parts escaped. */
  static idOf(accountId: string, clientId: string): string {
    return `${encodeURIComponent(clientId)}|${encodeURIComponent(accountId)}`;
  }

  /** What the user allowed this registration of the client, if anything. */
  async find(accountId: string, clientId: string, clientCreatedAt: number): Promise<RememberedConsent | undefined> {
    const parsed = storedConsent.safeParse(await this.#records.find(ConsentMemory.idOf(accountId, clientId)));
    if (!parsed.success || parsed.data.accountId !== accountId || parsed.data.clientId !== clientId) return undefined;
    if (parsed.data.clientCreatedAt === clientCreatedAt) return parsed.data;
    // Left by a deleted client whose id was registered again: of no use to anyone.
    await this.forget(accountId, clientId);
    return undefined;
  }

  /**
   * Adds `access` to what the user allowed the client. Two consents to one client at the same
   * moment (two tabs) may keep only one of them; the other is then asked again, never granted unasked.
   */
  async remember(accountId: string, clientId: string, clientCreatedAt: number, access: ConsentedAccess): Promise<void> {
    const now = this.now();
    const before = await this.find(accountId, clientId, clientCreatedAt);
    const { scope, claims, resources } = before ? unionAccess(accessOf(before), access) : access;
    const record: RememberedConsent = { accountId, clientId, clientCreatedAt, openid: { scope, claims }, resources, grantedAt: before?.grantedAt ?? now, updatedAt: now };
    // No expiry: consent stands until it is withdrawn or the account is disabled or deleted.
    await this.#records.upsert(ConsentMemory.idOf(accountId, clientId), record);
  }

  async forget(accountId: string, clientId: string): Promise<void> {
    await this.#records.destroy(ConsentMemory.idOf(accountId, clientId));
  }
}
