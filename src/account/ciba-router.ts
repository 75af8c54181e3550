import Router from '@koa/router';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Context } from 'koa';
import type { AppContext } from '../app-context.js';
import { CIBA_APPROVE_SCOPE, cibaApprovalResource } from '../domain/ciba.js';
import { AppError } from '../errors.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { CibaApprovals, type SignInProof } from './ciba-approvals.js';

/** The approval API's root below `/t/{tenant}` (docs/ciba.md). */
export const cibaRoot = '/ciba';

/** Request ids are the tenant's MACs: base64url, 43 characters. */
const requestId = /^[A-Za-z0-9_-]{43}$/;

/** The user an approval token speaks for, and what their sign-in proved (RFC 9068 claims of our provider). */
async function approver(app: AppContext, ctx: Context, tenant: TenantContext): Promise<{ accountId: string; proof: SignInProof }> {
  const header = ctx.get('authorization');
  if (!/^Bearer [A-Za-z0-9._~+/-]+=*$/.test(header)) throw new AppError('invalid_token', 'Send the user’s access token for this API: Authorization: Bearer <token>.');
  let payload;
  try {
    ({ payload } = await jwtVerify(header.slice(7), tenant.jwks, { issuer: tenant.issuer, audience: cibaApprovalResource(tenant.issuer), typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new AppError('invalid_token', 'The access token has expired.');
    throw new AppError('invalid_token', `The access token is not one of this tenant’s tokens for ${cibaApprovalResource(tenant.issuer)}.`);
  }
  if (!String(payload['scope'] ?? '').split(' ').includes(CIBA_APPROVE_SCOPE)) throw new AppError('insufficient_scope', `The access token lacks the ${CIBA_APPROVE_SCOPE} scope.`);
  if (payload['sub_type'] !== 'user' || typeof payload.sub !== 'string') throw new AppError('invalid_token', 'Only a user’s access token may decide that user’s requests.');
  const user = await app.users.findById(tenant.id, payload.sub);
  if (!user || user.disabled) throw new AppError('invalid_token', 'The user of this access token is disabled or no longer exists.');
  const amr = Array.isArray(payload['amr']) ? payload['amr'].filter((value): value is string => typeof value === 'string') : [];
  return {
    accountId: user._id,
    proof: { amr, ...(typeof payload['acr'] === 'string' ? { acr: payload['acr'] } : {}), ...(typeof payload['auth_time'] === 'number' ? { authTime: payload['auth_time'] } : {}) },
  };
}

/** RFC 6750 / RFC 9470: tell the app why its token was not enough, in the header it reads. */
function challenge(ctx: Context, error: unknown): never {
  if (error instanceof AppError && ['invalid_token', 'insufficient_scope', 'insufficient_user_authentication'].includes(error.code)) {
    // A header value is Latin-1: the description keeps printable ASCII only.
    ctx.set('WWW-Authenticate', `Bearer error="${error.code}", error_description="${error.message.replace(/[^\x20-\x7E]|["\\]/g, '')}"`);
  }
  throw error;
}

/**
 * The approval API for a tenant's own app: the signed-in user's pending CIBA requests, and approve
 * or deny, with the user's access token for the tenant's CIBA approval resource (scope
 * `ciba:approve`, first-party clients only). The approval carries what that token proves.
 */
export function cibaRouter(app: AppContext): Router {
  const approvals = new CibaApprovals(app);
  const router = new Router({ prefix: `/t/:tenant${cibaRoot}` });
  const tenantOf = (ctx: Context) => ctx.state.tenant as TenantContext;

  router.get('/requests', async (ctx) => {
    try {
      const { accountId } = await approver(app, ctx, tenantOf(ctx));
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { items: await approvals.pending(tenantOf(ctx), accountId) };
    } catch (error) {
      challenge(ctx, error);
    }
  });

  router.post('/requests/:id/:decision', async (ctx) => {
    const { id, decision } = ctx.params as { id: string; decision: string };
    if (decision !== 'approve' && decision !== 'deny') throw new AppError('not_found', 'POST .../requests/{id}/approve or .../deny.');
    if (!requestId.test(id)) throw new AppError('not_found', 'There is no pending request with this id for this user.');
    try {
      const { accountId, proof } = await approver(app, ctx, tenantOf(ctx));
      const via = { via: 'approval_api' as const, requestId: ctx.state.requestId as string };
      if (decision === 'approve') await approvals.approve(tenantOf(ctx), accountId, id, proof, via);
      else await approvals.deny(tenantOf(ctx), accountId, id, via);
      ctx.status = 204;
    } catch (error) {
      challenge(ctx, error);
    }
  });

  return router;
}
