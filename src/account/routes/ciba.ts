import type Router from '@koa/router';
import type { Context } from 'koa';
import { watchCibaChanges } from '../../domain/ciba.js';
import { scopeDescriptions } from '../../domain/scope-descriptions.js';
import { AppError } from '../../errors.js';
import { csrfTokenFor, formBody, verifyForm } from '../../http/forms.js';
import type { TenantContext } from '../../tenancy/tenant-context.js';
import { shortfall, type PendingRequest, type SignInProof } from '../ciba-approvals.js';
import type { AccountConsole, SignedIn } from '../console.js';
import { openEventStream } from '../event-stream.js';

/** Request ids are the tenant's MACs of the `auth_req_id`: base64url, 43 characters. */
const requestId = /^[A-Za-z0-9_-]{43}$/;

/** How often an open list is sent again without a change: the fallback for a feed message that was lost. */
const REFRESH_MS = 20_000;

/** What the pages and the live list show of a request: never its `auth_req_id`. */
interface ShownRequest {
  id: string;
  url: string;
  client: string;
  binding_message?: string;
  scopes: string[];
  expires_at: string;
  /** what approving will ask for: a sign-in again, and with which assurance */
  needs_sign_in: boolean;
}

function proofOf(current: SignedIn): SignInProof {
  const { session } = current;
  return { amr: session.amr ?? [], ...(session.acr ? { acr: session.acr } : {}), ...(session.auth_time !== undefined ? { authTime: session.auth_time } : {}) };
}

/**
 * The account console as CIBA's built-in authentication device (docs/ciba.md): the signed-in user's
 * pending requests, kept current while the page is open (a server-sent event stream fed by the change
 * feed, so a request made through another instance appears at once), and one request's page to
 * approve or deny it. Approving needs a sign-in recent enough and strong enough for the request
 * (`shortfall`); otherwise the browser signs in again through the usual login and comes back to the
 * request. Denying needs only the console session. The decisions are the approval API's
 * (`ciba-approvals.ts`): once, audited, the ping left to the provider.
 */
export function cibaRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const base = (tenant: TenantContext) => `${site.pathOf(tenant)}/ciba`;
  const enabled = (tenant: TenantContext) => tenant.settings.securityPolicy?.ciba?.enabled === true;
  const nowSeconds = () => Math.floor(app.clock() / 1000);

  const shown = (tenant: TenantContext, current: SignedIn, request: PendingRequest): ShownRequest => ({
    id: request.id,
    url: `${base(tenant)}/${request.id}`,
    client: request.client_name ?? request.client_id,
    ...(request.binding_message !== undefined ? { binding_message: request.binding_message } : {}),
    scopes: request.scope
      .split(' ')
      .filter(Boolean)
      .map((scope) => scopeDescriptions[scope] ?? scope),
    expires_at: request.expires_at,
    needs_sign_in: shortfall(request.acr_values, proofOf(current), nowSeconds()) !== undefined,
  });

  const list = async (tenant: TenantContext, current: SignedIn) => (await site.cibaApprovals.pending(tenant, current.user._id)).map((request) => shown(tenant, current, request));

  /** The signed-in user of a CIBA page; else the browser signs in and comes back to `next`. */
  const signedIn = async (ctx: Context, next: string): Promise<SignedIn | undefined> => {
    const tenant = site.tenantOf(ctx);
    if (!enabled(tenant)) throw new AppError('not_found', 'Sign-in requests from other apps are not turned on for this organisation.');
    const current = await site.signedIn(ctx);
    if (!current) ctx.redirect(`${site.pathOf(tenant)}/login?next=${encodeURIComponent(next)}`);
    return current;
  };

  const result = async (ctx: Context, status: number, heading: string, message: string) => {
    const tenant = site.tenantOf(ctx);
    ctx.status = status;
    ctx.body = await site.page(ctx, 'account-ciba-result', heading, { heading, message, backUrl: base(tenant) });
  };

  router.get('/ciba', async (ctx) => {
    const current = await signedIn(ctx, 'ciba');
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    ctx.body = await site.page(ctx, 'account-ciba', 'Sign-in requests', {
      requests: await list(tenant, current),
      eventsUrl: `${base(tenant)}/events`,
      backUrl: site.pathOf(tenant),
    });
  });

  // The live list: the whole list again whenever it may have changed (a small list, so no diffs).
  router.get('/ciba/events', async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = enabled(tenant) ? await site.signedIn(ctx) : undefined;
    if (!current) {
      // 204 tells an EventSource to stop reconnecting: the page's script then offers to reload.
      ctx.status = 204;
      return;
    }
    openEventStream(ctx, {
      logger: app.logger,
      key: `${tenant.id}:${current.user._id}`,
      refreshMs: REFRESH_MS,
      // The console session may end while the page stays open: the stream ends with it.
      load: async () => ((await site.signedIn(ctx)) ? { requests: await list(tenant, current) } : undefined),
      watch: (changed) => watchCibaChanges(app.changes, tenant.id, current.user._id, changed),
    });
  });

  router.get('/ciba/:id', async (ctx) => {
    const id = ctx.params['id'] ?? '';
    const current = await signedIn(ctx, requestId.test(id) ? `ciba/${id}` : 'ciba');
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    const pending = requestId.test(id) ? await site.cibaApprovals.find(tenant, current.user._id, id) : undefined;
    if (!pending) return result(ctx, 404, 'Request not found', 'This request is not waiting for you: it was approved or denied already, it expired, or it was not meant for you.');
    const request = shown(tenant, current, pending);
    ctx.body = await site.page(ctx, 'account-ciba-request', `Sign-in request from ${request.client}`, {
      request,
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      backUrl: base(tenant),
    });
  });

  router.post('/ciba/:id/:decision', body, async (ctx) => {
    const { id = '', decision } = ctx.params as { id?: string; decision: string };
    if (decision !== 'approve' && decision !== 'deny') throw new AppError('not_found', 'Approve or deny a request from its page.');
    const current = await signedIn(ctx, requestId.test(id) ? `ciba/${id}` : 'ciba');
    if (!current) return;
    const tenant = site.tenantOf(ctx);
    verifyForm(ctx, tenant, `account:${current.id}`, new URL(app.config.publicUrl).origin);
    const pending = requestId.test(id) ? await site.cibaApprovals.find(tenant, current.user._id, id) : undefined;
    if (!pending) return result(ctx, 404, 'Request not found', 'This request is not waiting for you any more: it was approved or denied already, or it expired.');
    const via = { via: 'account_console' as const, requestId: ctx.state.requestId as string };
    try {
      if (decision === 'deny') {
        await site.cibaApprovals.deny(tenant, current.user._id, id, via);
        return await result(ctx, 200, 'Request denied', `${pending.client_name ?? pending.client_id} was told that you denied the request.`);
      }
      if (shortfall(pending.acr_values, proofOf(current), nowSeconds())) {
        // Through the usual login: a fresh sign-in with what the request asks for, then back here.
        ctx.status = 303;
        ctx.redirect(`${site.pathOf(tenant)}/login?fresh=ciba&request=${id}`);
        return;
      }
      await site.cibaApprovals.approve(tenant, current.user._id, id, proofOf(current), via);
      return await result(ctx, 200, 'Request approved', `You are signed in to ${pending.client_name ?? pending.client_id}. You can close this page.`);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'not_found' || error.code === 'conflict') return result(ctx, 409, 'Already decided', 'This request was approved or denied already, or it expired.');
      if (error.code === 'insufficient_user_authentication') {
        ctx.status = 303;
        ctx.redirect(`${site.pathOf(tenant)}/login?fresh=ciba&request=${id}`);
        return;
      }
      throw error;
    }
  });
}
