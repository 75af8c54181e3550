import type { Logger } from 'pino';
import { endSessionsOf, type EndSessionsReason, type EndedSessions } from '../../oidc/end-sessions.js';
import type { AdminRequest } from '../route.js';

type AuditInput = Parameters<AdminRequest<unknown, unknown, unknown>['audit']>[0];

/** What an audit event records of ended sessions: counts (client ids and errors go to the log). */
function auditDetails(ended: EndedSessions) {
  const delivered = ended.backchannelLogouts.filter((result) => result.delivered).length;
  return {
    sessions_ended: ended.sessions,
    grants_revoked: ended.grants,
    consents_forgotten: ended.consents,
    backchannel_logouts: { delivered, failed: ended.backchannelLogouts.length - delivered },
  };
}

/**
 * Ends the sessions of a user the admin has just disabled or deleted (see `oidc/end-sessions.ts`)
 * and writes the change's audit event with what was ended. The change is already stored, so the
 * event is written even when ending fails (the store went down); the error then answers the request.
 */
export async function endSessionsAndAudit(request: AdminRequest<unknown, unknown, unknown>, userId: string, reason: EndSessionsReason, event: AuditInput): Promise<void> {
  let ended: EndedSessions | undefined;
  try {
    const tenant = await request.pool.get(request.tenant);
    ended = tenant ? await endSessionsOf(tenant, userId, { reason }) : undefined;
  } catch (error) {
    await request.audit({ ...event, details: { sessions_ended: null, error: 'the user’s sessions could not all be ended' } });
    throw error;
  }
  const failed = ended?.backchannelLogouts.filter((result) => !result.delivered) ?? [];
  if (failed.length > 0) {
    (request.ctx.state.log as Logger | undefined)?.warn({ event: 'backchannel.error', tenant: request.tenant, reason, failed }, 'back-channel logout delivery failed');
  }
  await request.audit({ ...event, ...(ended ? { details: auditDetails(ended) } : {}) });
}
