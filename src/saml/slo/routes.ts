import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppContext } from '../../app-context.js';
import { SAML_CLIENT_ID } from '../../domain/clients.js';
import { bindings, type SamlApp } from '../../domain/saml-apps.js';
import { certificatePem } from '../../domain/x509.js';
import { formBody } from '../../http/forms.js';
import { renderPage } from '../../http/views.js';
import { endOneSession, sessionIdOfSid } from '../../oidc/end-sessions.js';
import type { TenantContext } from '../../tenancy/tenant-context.js';
import { status } from '../assertion.js';
import { idpEndpoints, samlRoot } from '../idp-metadata.js';
import { fromPost, fromRedirect, type EncodedMessage } from '../inbound/bindings.js';
import { SamlMessageError } from '../inbound/errors.js';
import { readInbound, type SpTrust } from '../inbound/message.js';
import { messageMemory } from '../inbound/replay.js';
import { appSigningKey, auditSamlEvent } from '../app-signing.js';
import { samlProtocolSchema } from '../schema.js';
import { JOURNEY_SECONDS, LogoutJourneys, STEP_SECONDS, type LogoutJourney, type LogoutStep } from './journeys.js';
import { logoutRequestFields, logoutRequestXml, logoutResponseFields, logoutResponseXml, PARTIAL_LOGOUT, sameNameId, UNKNOWN_PRINCIPAL } from './messages.js';
import { signedLogoutMessage, type Outgoing } from './outbound.js';
import { Participations, type Participation } from './participation.js';

type TrustedApp = SpTrust & { app: SamlApp };

/** LogoutRequests and LogoutResponses over the front channel are always signed (issue 13), whatever `authn_requests_signed` says. */
function trustOf(app: SamlApp): TrustedApp {
  return { app, entityId: app.entityId, certificates: app.signingCertificates.map(certificatePem), requireSignedRequests: true, allowSha1: app.allowSha1, clockSkewSeconds: app.clockSkewSeconds };
}

const bindingOf = (app: SamlApp) => (app.slo?.binding === bindings.post ? 'post' : 'redirect');

/** An https or http origin as CSP names it (the SLO URLs were checked on registration; this keeps the header sound). */
const cspOrigin = /^https?:\/\/[A-Za-z0-9.-]+(?::[0-9]{1,5})?$/;

/** Sets the headers of a page that runs inside the logout page's frame (our own origin only). */
function frameableBySelf(ctx: Context, tenant: TenantContext): void {
  ctx.set('X-Frame-Options', 'SAMEORIGIN');
  ctx.set('Content-Security-Policy', tenant.contentSecurityPolicy.replace("frame-ancestors 'none'", "frame-ancestors 'self'"));
}

/**
 * The services of single logout, shared by the SLO endpoint and the sign-out hook
 * (`idp-logout.ts`): the apps a session signed in to, and the journeys through them.
 */
export interface SloServices {
  participations: Participations;
  journeys: LogoutJourneys;
}

export function sloServices(app: AppContext): SloServices {
  return { participations: new Participations(app.ephemeral), journeys: new LogoutJourneys(app.ephemeral) };
}

/** The steps of a journey: the session's apps that still exist and registered an SLO URL, but `except`. */
export async function stepsOf(app: AppContext, tenant: string, participations: Participation[], except?: string): Promise<LogoutStep[]> {
  const steps: LogoutStep[] = [];
  for (const participation of participations) {
    if (participation.appId === except) continue;
    const samlApp = await app.samlApps.get(tenant, participation.appId);
    if (samlApp?.slo) steps.push({ appId: samlApp.id, name: samlApp.name, nameId: participation.nameId, sessionIndex: participation.sessionIndex });
  }
  return steps;
}

/** The first page of a journey's steps (relative to the tenant's issuer). */
export const progressPath = (issuer: string, journey: string, step: number) => `${new URL(issuer).pathname}${samlRoot}/slo/progress?j=${journey}&step=${step}`;

/**
 * Single logout at `/t/{tenant}/saml/slo` (SAML Profiles 4.4, docs/saml.md "Single logout"), over
 * HTTP-Redirect and HTTP-POST:
 *
 * - a LogoutRequest of an app (read by `inbound/`: always signed, Issuer a registered app with an
 *   SLO URL, Destination this endpoint, IssueInstant window, replay memory) whose NameID and
 *   SessionIndex match what the session's SSO sent that app ends that Gatehouse session through
 *   the shared end-session service (back-channel logout to its OIDC clients included), then the
 *   browser visits the session's other apps with an SLO URL, and the app gets a signed
 *   LogoutResponse: Success, or PartialLogout when another app did not confirm;
 * - a LogoutResponse answers a LogoutRequest Gatehouse sent on one of those visits (InResponseTo
 *   must name one), also when the visits began at Gatehouse's own sign-out (`idp-logout.ts`).
 *
 * The visits happen inside a frame of a Gatehouse page that moves on after {@link STEP_SECONDS}
 * whether or not the app answered (an app that does not answer is reported as not signed out).
 */
export function sloRoutes(router: Router, app: AppContext, services: SloServices): void {
  const schema = samlProtocolSchema();
  const { participations, journeys } = services;
  const tenantOf = (ctx: Context) => ctx.state.tenant as TenantContext;

  const page = async (ctx: Context, name: string, title: string, locals: Record<string, unknown> = {}) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderPage(name, { title, tenant: tenantOf(ctx), requestId: ctx.state.requestId as string, ...locals });
  };
  const errorPage = async (ctx: Context, statusCode: number, heading: string, message: string) => {
    ctx.status = statusCode;
    await page(ctx, 'error', heading, { heading, message, status: statusCode });
  };
  const audit = (ctx: Context, type: string, samlApp: SamlApp, details: Record<string, unknown>, user?: string) => auditSamlEvent(app, ctx, tenantOf(ctx).id, type, samlApp, details, user);

  /** Sends the browser on with a signed message: a redirect, or the auto-posting page. */
  const deliver = async (ctx: Context, samlApp: SamlApp, outgoing: Outgoing, title: string) => {
    ctx.set('Cache-Control', 'no-store');
    if (outgoing.binding === 'redirect') {
      ctx.status = 303;
      ctx.redirect(outgoing.url);
      return;
    }
    await page(ctx, 'saml-post', title, { heading: title, appName: samlApp.name, action: outgoing.action, parameter: outgoing.parameter, message: outgoing.message, ...(outgoing.relayState !== undefined ? { relayState: outgoing.relayState } : {}) });
  };

  /** The signed LogoutResponse to an app's SLO (response) URL. */
  const answer = async (ctx: Context, samlApp: SamlApp, inResponseTo: string, codes: [string, ...string[]], relayState: string | undefined, message?: string) => {
    const tenant = tenantOf(ctx);
    const slo = samlApp.slo!;
    const location = slo.responseUrl ?? slo.url;
    const response = logoutResponseXml({ idpEntityId: idpEndpoints(tenant.issuer).entityId, destination: location, inResponseTo, codes, ...(message ? { message } : {}), nowMs: app.clock() });
    const outgoing = signedLogoutMessage({ xml: response.xml, rootName: 'LogoutResponse' }, { location, binding: bindingOf(samlApp), ...(relayState !== undefined ? { relayState } : {}) }, samlApp, await appSigningKey(app, tenant.id, samlApp));
    await deliver(ctx, samlApp, outgoing, `Signing you out of ${samlApp.name}`);
  };

  const read = async (ctx: Context, encoded: EncodedMessage, expected: 'LogoutRequest' | 'LogoutResponse') => {
    const tenant = tenantOf(ctx);
    return readInbound<TrustedApp>(encoded, expected, {
      destination: idpEndpoints(tenant.issuer).slo,
      nowMs: app.clock(),
      schema,
      findSp: async (entityId) => {
        const found = await app.samlApps.findByEntityId(tenant.id, entityId);
        return found ? trustOf(found) : undefined;
      },
      remember: messageMemory(app.ephemeral, tenant.id),
    });
  };

  /** An app's LogoutRequest: SP-initiated single logout. */
  const logoutRequest = async (ctx: Context, encoded: EncodedMessage) => {
    const tenant = tenantOf(ctx);
    const inbound = await read(ctx, encoded, 'LogoutRequest');
    const samlApp = inbound.sp.app;
    if (!samlApp.slo) {
      throw new SamlMessageError('unknown_issuer', `${samlApp.name} has not registered a single logout URL with this organisation, so it cannot be answered`);
    }
    const fields = logoutRequestFields(inbound.root);
    if (fields.notOnOrAfterMs !== undefined && !(fields.notOnOrAfterMs + samlApp.clockSkewSeconds * 1000 > app.clock())) {
      return answer(ctx, samlApp, fields.id, [status.requester, status.requestDenied], inbound.relayState, 'the LogoutRequest has expired (NotOnOrAfter)');
    }
    // SAML Core 3.7.3.1: the request names the principal and the sessions; both must be what this
    // app was told in a live session, or nothing ends (another user's NameID ends nobody's session).
    let found: { sessionIndex: string; accountId: string; sid: string; apps: Participation[] } | undefined;
    for (const sessionIndex of fields.sessionIndexes) {
      const known = await participations.of(tenant.id, sessionIndex);
      if (known?.apps.some((participation) => participation.appId === samlApp.id && sameNameId(participation.nameId, fields.nameId))) {
        found = { sessionIndex, ...known.session, apps: known.apps };
        break;
      }
    }
    if (!found) {
      await audit(ctx, 'saml.logout_refused', samlApp, { reason: fields.sessionIndexes.length ? 'unknown_session' : 'no_session_index', request_id: fields.id });
      return answer(ctx, samlApp, fields.id, [status.requester, UNKNOWN_PRINCIPAL], inbound.relayState, fields.sessionIndexes.length ? 'no session of this user at Gatehouse matches the NameID and SessionIndex' : 'a LogoutRequest must carry the SessionIndex of the assertion');
    }
    await participations.forget(tenant.id, found.sessionIndex);
    const sessionId = await sessionIdOfSid(tenant, found.accountId, SAML_CLIENT_ID, found.sid);
    const ended = sessionId ? await endOneSession(tenant, sessionId, found.accountId, { reason: 'saml_logout' }) : undefined;
    const failed = ended?.backchannelLogouts.filter((result) => !result.delivered) ?? [];
    if (failed.length) ctx.state.log?.warn({ event: 'backchannel.error', reason: 'saml_logout', failed }, 'back-channel logout delivery failed');
    await audit(ctx, 'saml.logout', samlApp, { request_id: fields.id, sessions: ended?.sessions ?? 0, backchannel_logouts: { delivered: (ended?.backchannelLogouts.length ?? 0) - failed.length, failed: failed.length } }, found.accountId);
    const steps = await stepsOf(app, tenant.id, found.apps, samlApp.id);
    const requester = { appId: samlApp.id, requestId: fields.id, ...(inbound.relayState !== undefined ? { relayState: inbound.relayState } : {}) };
    if (steps.length === 0) return answer(ctx, samlApp, fields.id, [status.success], inbound.relayState);
    const journey = await journeys.start(tenant.id, { steps, requester });
    ctx.status = 303;
    ctx.redirect(progressPath(tenant.issuer, journey, 0));
  };

  /** An app's answer to a LogoutRequest Gatehouse sent it during a journey. */
  const logoutResponse = async (ctx: Context, encoded: EncodedMessage) => {
    const tenant = tenantOf(ctx);
    const inbound = await read(ctx, encoded, 'LogoutResponse');
    const fields = logoutResponseFields(inbound.root);
    const sent = fields.inResponseTo ? await journeys.answered(tenant.id, fields.inResponseTo) : undefined;
    if (!sent || sent.appId !== inbound.sp.app.id) {
      throw new SamlMessageError('unexpected_message', 'the LogoutResponse does not answer a LogoutRequest Gatehouse sent to this app (InResponseTo)');
    }
    await journeys.result(tenant.id, sent, fields.success);
    await audit(ctx, fields.success ? 'saml.logout_propagated' : 'saml.logout_propagation_failed', inbound.sp.app, { status: fields.codes.slice(0, 2) });
    frameableBySelf(ctx, tenant);
    await page(ctx, 'saml-logout-step', 'Signing out', { appName: inbound.sp.app.name, next: progressPath(tenant.issuer, sent.journey, sent.step + 1) });
  };

  const slo = async (ctx: Context, binding: 'redirect' | 'post') => {
    try {
      const encoded = binding === 'redirect' ? fromRedirect(ctx.querystring) : fromPost(((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>);
      if (encoded.parameter === 'SAMLRequest') await logoutRequest(ctx, encoded);
      else await logoutResponse(ctx, encoded);
    } catch (error) {
      if (!(error instanceof SamlMessageError)) throw error;
      ctx.state.log?.info({ code: error.code, reason: error.message }, 'SAML logout message refused');
      await errorPage(ctx, 400, 'This sign-out message was refused', `The app’s SAML logout message could not be accepted: ${error.message}. If you meant to sign out, sign out of Gatehouse from your account page.`);
    }
  };

  /** Ends a journey: the LogoutResponse to the app that asked, or the page that says what was signed out. */
  const finish = async (ctx: Context, id: string) => {
    const tenant = tenantOf(ctx);
    const done = await journeys.finish(tenant.id, id);
    if (!done) return errorPage(ctx, 400, 'This sign-out is over', 'This sign-out has finished or expired.');
    const { journey, succeeded } = done;
    const failed = journey.steps.filter((_, index) => !succeeded.has(index));
    if (journey.requester) {
      const requester = await app.samlApps.get(tenant.id, journey.requester.appId);
      if (!requester?.slo) return summary(ctx, journey, succeeded);
      return answer(ctx, requester, journey.requester.requestId, failed.length ? [status.success, PARTIAL_LOGOUT] : [status.success], journey.requester.relayState, failed.length ? `not signed out of ${failed.map((step) => step.name).join(', ')}` : undefined);
    }
    return summary(ctx, journey, succeeded);
  };
  const summary = (ctx: Context, journey: LogoutJourney, succeeded: Set<number>) =>
    page(ctx, 'saml-logged-out', 'Signed out', {
      signedOut: journey.steps.filter((_, index) => succeeded.has(index)).map((step) => step.name),
      notSignedOut: journey.steps.filter((_, index) => !succeeded.has(index)).map((step) => step.name),
      ...(journey.next ? { next: journey.next } : {}),
    });

  router.get(`/t/:tenant${samlRoot}/slo`, (ctx) => slo(ctx, 'redirect'));
  router.post(`/t/:tenant${samlRoot}/slo`, formBody(app.config.http.bodyLimit), (ctx) => slo(ctx, 'post'));

  // One app of a journey: a page that frames the LogoutRequest and moves on after STEP_SECONDS.
  router.get(`/t/:tenant${samlRoot}/slo/progress`, async (ctx) => {
    const tenant = tenantOf(ctx);
    const id = typeof ctx.query['j'] === 'string' ? ctx.query['j'] : '';
    const step = typeof ctx.query['step'] === 'string' && /^[0-9]{1,2}$/.test(ctx.query['step']) ? Number(ctx.query['step']) : -1;
    const journey = await journeys.get(tenant.id, id);
    if (!journey || step < 0) return errorPage(ctx, 400, 'This sign-out is over', 'This sign-out has finished or expired.');
    if (step >= journey.steps.length) return finish(ctx, id);
    const current = journey.steps[step]!;
    const samlApp = await app.samlApps.get(tenant.id, current.appId);
    const origin = samlApp?.slo ? new URL(samlApp.slo.url).origin : '';
    ctx.set('Content-Security-Policy', `${tenant.contentSecurityPolicy}; frame-src 'self'${cspOrigin.test(origin) ? ` ${origin}` : ''}`);
    // Moves on without script, whether or not the app answers (the frame's answer moves on sooner).
    ctx.set('Refresh', `${STEP_SECONDS}; url=${progressPath(tenant.issuer, id, step + 1)}`);
    await page(ctx, 'saml-logout', 'Signing out', {
      appName: current.name,
      position: step + 1,
      count: journey.steps.length,
      frame: `${new URL(tenant.issuer).pathname}${samlRoot}/slo/send?j=${id}&step=${step}`,
      next: progressPath(tenant.issuer, id, step + 1),
      seconds: STEP_SECONDS,
    });
  });

  // Inside the frame: the signed LogoutRequest to the app of that step.
  router.get(`/t/:tenant${samlRoot}/slo/send`, async (ctx) => {
    const tenant = tenantOf(ctx);
    const id = typeof ctx.query['j'] === 'string' ? ctx.query['j'] : '';
    const step = typeof ctx.query['step'] === 'string' && /^[0-9]{1,2}$/.test(ctx.query['step']) ? Number(ctx.query['step']) : -1;
    const journey = await journeys.get(tenant.id, id);
    const current = journey?.steps[step];
    const samlApp = current ? await app.samlApps.get(tenant.id, current.appId) : undefined;
    frameableBySelf(ctx, tenant);
    if (!current || !samlApp?.slo) return errorPage(ctx, 400, 'This sign-out is over', 'This sign-out has finished or expired.');
    const request = logoutRequestXml({ idpEntityId: idpEndpoints(tenant.issuer).entityId, destination: samlApp.slo.url, nameId: current.nameId, sessionIndex: current.sessionIndex, nowMs: app.clock(), lifetimeSeconds: JOURNEY_SECONDS });
    await journeys.sent(tenant.id, request.id, { journey: id, step, appId: samlApp.id });
    const outgoing = signedLogoutMessage({ xml: request.xml, rootName: 'LogoutRequest' }, { location: samlApp.slo.url, binding: bindingOf(samlApp) }, samlApp, await appSigningKey(app, tenant.id, samlApp));
    await deliver(ctx, samlApp, outgoing, `Signing you out of ${samlApp.name}`);
  });
}
