import { createHash, randomBytes } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { AuthnRequestFields } from './inbound/authn-request.js';

/** How long a person has to sign in between the app's request and the answer. */
export const SSO_TRANSACTION_SECONDS = 10 * 60;

/** What the bridge remembers of a SAML sign-in while the person signs in (never in the browser). */
export interface SsoTransaction {
  appId: string;
  acsUrl: string;
  /** the AuthnRequest's ID (absent for IdP-initiated sign-in) */
  requestId?: string;
  relayState?: string;
  nameIdFormat: string;
  requestedAuthnContext?: AuthnRequestFields['requestedAuthnContext'];
  isPassive: boolean;
  forceAuthn: boolean;
  /** the OIDC leg's PKCE verifier and nonce */
  verifier: string;
  nonce: string;
  /** when the request was accepted (ms): a forced sign-in must be newer */
  startedAtMs: number;
}

const keyOf = (tenant: string, state: string) => tenantKey(tenant, 'saml-sso', createHash('sha256').update(state).digest('base64url'));

/** The SAML bridge's transactions in the short-lived store, by the OIDC leg's `state`; each is taken once. */
export class SsoTransactions {
  constructor(private readonly ephemeral: EphemeralStore) {}

  /** Stores a transaction; answers its `state` (random, 32 bytes). */
  async start(tenant: string, transaction: SsoTransaction): Promise<string> {
    const state = randomBytes(32).toString('base64url');
    await this.ephemeral.set(keyOf(tenant, state), JSON.stringify(transaction), { ttlSeconds: SSO_TRANSACTION_SECONDS });
    return state;
  }

  /** The transaction of `state`, removed as it is read (a second callback with it finds nothing). */
  async take(tenant: string, state: string): Promise<SsoTransaction | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(state)) return undefined;
    const raw = await this.ephemeral.take(keyOf(tenant, state));
    return raw === undefined ? undefined : (JSON.parse(raw) as SsoTransaction);
  }
}

/** The name of the cookie that ties a transaction to the browser that started it. */
export function transactionCookie(state: string): string {
  return `gh_saml_${createHash('sha256').update(state).digest('hex').slice(0, 16)}`;
}
