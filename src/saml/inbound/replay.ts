import { createHash } from 'node:crypto';
import { tenantKey, type EphemeralStore } from '../../../adapters/ephemeral.js';

/**
 * The IDs of a tenant's accepted SAML messages, kept in the short-lived store for as long as the
 * message could be accepted (`readInbound` asks), so one message is accepted once on every
 * instance: the first writer of the key wins (an only-if-absent write), parallel replays lose.
 */
export function messageMemory(ephemeral: EphemeralStore, tenant: string) {
  return (issuer: string, id: string, ttlSeconds: number): Promise<boolean> =>
    ephemeral.set(tenantKey(tenant, 'saml-seen', createHash('sha256').update(`${issuer}\0${id}`).digest('base64url')), '1', { ttlSeconds: Math.ceil(ttlSeconds), onlyIfAbsent: true });
}
