/**
 * Every index the application needs, by collection, in one place: the embedded store builds them at
 * boot (`openStore`), the `migrate` command builds them on MongoDB. Adding a query that filters on a
 * new field? Add its index here.
 */
import type { IndexSpec, Store } from './store.js';

/** Collection name → index specs (`_id` is always indexed and unique). */
export const indexes: Record<string, IndexSpec[]> = {
  // One host serves one tenant; most tenants have none.
  tenants: [{ fields: ['customHost'], unique: true, sparse: true }],
  users: [
    { fields: ['tenant', 'username'], unique: true },
    // Sparse: any number of users of a tenant may have no e-mail address.
    { fields: ['tenant', 'email'], unique: true, sparse: true },
    // Multikey: the keys of usernames and e-mail addresses (domain/identifiers.ts) form one key space
    // per tenant; sign-in looks users up by it. Sparse: users stored before keys existed have none.
    { fields: ['tenant', 'identifierKeys'], unique: true, sparse: true },
    // CIBA's login_hint may be a phone number (E.164); not unique: two users may share a phone.
    { fields: ['tenant', 'phone'], sparse: true },
  ],
  // `_id` is `${tenant}:${clientId}`, so lookups need nothing else; lists page by client id.
  clients: [{ fields: ['tenant', 'clientId'] }],
  // `_id` is `${tenant}|${identifier}` (token requests); the admin API finds and pages by `id`.
  resources: [{ fields: ['tenant', 'id'] }],
  // `_id` is the key id (authentication); names are unique per service account, and so are the
  // places (slots) that cap how many keys one account holds (sparse: keys from before places).
  api_keys: [
    { fields: ['tenant', 'serviceAccountId', 'name'], unique: true },
    { fields: ['tenant', 'serviceAccountId', 'slot'], unique: true, sparse: true },
  ],
  // Each rotation's cookie key takes one of the tenant's places (slots), which cap its key sets
  // (sparse: signing keys and cookie keys from before places have none).
  keys: [{ fields: ['tenant'] }, { fields: ['tenant', 'slot'], unique: true, sparse: true }],
  roles: [{ fields: ['tenant'] }],
  // SAML apps: `_id` is `${tenant}:${id}`; the entity ID is unique per tenant, so of parallel
  // registrations of one SP exactly one wins; AuthnRequests find their app by it.
  saml_apps: [{ fields: ['tenant', 'entityId'], unique: true }, { fields: ['tenant', 'id'] }],
  // SAML signing keys (src/domain/saml-keys.ts); the pointer's `_id` is the tenant.
  saml_keys: [{ fields: ['tenant'] }],
  saml_key_pointers: [{ fields: ['tenant'] }],
  audit_events: [{ fields: ['tenant', 'type'] }, { fields: ['tenant', 'actor.id'] }, { fields: ['tenant', 'target.id'] }],
  // Short-lived state when no Redis is configured (ephemeral-store.ts): one document per key
  // (sign-in and machine-authentication counters, account console sessions among them). Readers
  // check `expiresAt` themselves, the TTL index only cleans up.
  ephemeral: [{ fields: ['expiresAt'], ttl: true }],
  // Second factors of a user (src/domain/mfa-factors.ts); one set of recovery codes per user
  // (sparse: only that set carries `slot`).
  // The slot also caps a user's passkeys (numbered places). A WebAuthn credential ID is registered
  // once per tenant (sparse: only passkeys carry one); assertions find it by that ID.
  mfa_factors: [
    { fields: ['tenant', 'userId'] },
    { fields: ['tenant', 'userId', 'slot'], unique: true, sparse: true },
    { fields: ['tenant', 'credentialId'], unique: true, sparse: true },
  ],
  // `_id` is `${tenant}:${userId}`; a passkey login may find the account by its random handle.
  webauthn_user_handles: [{ fields: ['tenant', 'handle'], unique: true }],
  // `_id` is `${tenant}:${accountId}`; tenant deletion removes by tenant.
  sign_in_devices: [{ fields: ['tenant'] }],
  // oidc-provider models (see oidc-adapter.ts); `_id` is `${tenant}:${model}:${id}`.
  oidc: [
    // `{tenant}:{model}:{value}` lookup keys, present on every document (see OidcDoc).
    { fields: ['grantKey'] },
    { fields: ['userCodeKey'] },
    { fields: ['uidKey'] },
    // Sessions and grants of an account, ended when it is disabled or deleted (src/oidc/end-sessions.ts).
    { fields: ['accountKey'] },
    // Cleans up only: the adapter checks expiry itself, as MongoDB's TTL monitor runs once a minute.
    { fields: ['expiresAt'], ttl: true },
  ],
};

/**
 * Creates the indexes of {@link indexes} plus `extra` (specs appended per collection), one
 * collection at a time, calling `onProgress` after each. Safe to repeat.
 */
export async function ensureAllIndexes(
  store: Store,
  extra: Record<string, IndexSpec[]> = {},
  onProgress?: (collection: string) => void,
): Promise<void> {
  const names = new Set([...Object.keys(indexes), ...Object.keys(extra)]);
  for (const name of names) {
    const specs = [...(indexes[name] ?? []), ...(extra[name] ?? [])];
    if (specs.length > 0) await store.ensureIndexes(name, specs);
    onProgress?.(name);
  }
}
