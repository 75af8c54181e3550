import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import * as oidc from 'openid-client';
import type { AppContext } from '../app-context.js';
import { isAcr } from '../authn/assurance.js';
import { bindings, type SamlApp } from '../domain/saml-apps.js';
import type { User } from '../domain/users.js';
import { certificatePem } from '../domain/x509.js';
import { formBody } from '../http/forms.js';
import { readSignedCookie, setSignedCookie } from '../http/signed-cookie.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { attributeValues, errorResponseXml, responseXml, status, type ResponseTarget } from './assertion.js';
import { requirementOf } from './authn-context.js';
import { idpEndpoints, samlRoot } from './idp-metadata.js';
import { authnRequestFields, type AuthnRequestFields } from './inbound/authn-request.js';
import { fromPost, fromRedirect } from './inbound/bindings.js';
import { SamlMessageError } from './inbound/errors.js';
import { appSigningKey, auditSamlEvent } from './app-signing.js';
import { readInbound, type SpTrust } from './inbound/message.js';
import { messageMemory } from './inbound/replay.js';
import { chooseFormat, nameIdFor, NameIdPolicyError } from './name-id.js';
import type { OidcLeg } from './oidc-leg.js';
import { signedErrorResponse, signedResponse } from './response.js';
import { samlProtocolSchema } from './schema.js';
import { recordParticipation } from './slo/record.js';
import { transactionCookie } from './transactions.js';

/** A registered app as the inbound reader trusts it (certificates as PEM). */
type TrustedApp = SpTrust & { app: SamlApp };

function trustOf(app: SamlApp): TrustedApp {
  return { app, entityId: app.entityId, certificates: app.signingCertificates.map(certificatePem), requireSignedRequests: app.authnRequestsSigned, allowSha1: app.allowSha1, clockSkewSeconds: app.clockSkewSeconds };
}

/**
 * The ACS URL an AuthnRequest may be answered at: the registered one it names (by URL or index),
 * or the app's default; never an unregistered URL, whatever the request says.
 */
export function chooseAcs(app: SamlApp, fields: Pick<AuthnRequestFields, 'assertionConsumerServiceUrl' | 'assertionConsumerServiceIndex'>): string | undefined {
  if (fields.assertionConsumerServiceUrl !== undefined) return app.acs.find((acs) => acs.url === fields.assertionConsumerServiceUrl)?.url;
  if (fields.assertionConsumerServiceIndex !== undefined) return app.acs.find((acs) => acs.index === fields.assertionConsumerServiceIndex)?.url;
  return (app.acs.find((acs) => acs.isDefault) ?? app.acs[0])?.url;
}

/** Whether the user may use the app: everyone, or listed, or holding a listed role. */
export function mayUse(app: SamlApp, user: User): boolean {
  return app.access.allUsers || app.access.userIds.includes(user._id) || (user.roles ?? []).some((role) => app.access.roles.includes(role));
}

/**
 * SP-initiated single sign-on (docs/saml.md): `/t/{tenant}/saml/sso` over HTTP-Redirect (GET) and
 * HTTP-POST takes an AuthnRequest (read by `inbound/`, with every defence there), and the person
 * signs in through the tenant's usual login as the built-in client `gatehouse-saml` (the same
 * pipeline, session, second factors and audit as OIDC): `IsPassive` becomes `prompt=none`,
 * `ForceAuthn` `max_age=0`, the requested context `acr_values` (the OIDC leg is `oidc-leg.ts`,
 * shared with IdP-initiated sign-on). `/t/{tenant}/saml/callback` takes the result of both and posts the signed (and, as registered, encrypted) Response to the app's registered ACS
 * URL. A request that cannot be trusted (unknown app, bad signature, unregistered ACS) gets an
 * error page, never a Response; a trusted one that cannot be met gets a SAML error Response.
 */
export function ssoRoutes(router: Router, app: AppContext, leg: OidcLeg): void {
  const schema = samlProtocolSchema();
  const { transactions, secure, callbackPath, configOf, errorPage } = leg;
  const tenantOf = (ctx: Context) => ctx.state.tenant as TenantContext;

  const post = async (ctx: Context, samlApp: SamlApp, acsUrl: string, message: string, relayState: string | undefined) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await renderPage('saml-post', { title: `Signing in to ${samlApp.name}`, tenant: tenantOf(ctx), requestId: ctx.state.requestId as string, appName: samlApp.name, action: acsUrl, parameter: 'SAMLResponse', message, ...(relayState !== undefined ? { relayState } : {}) });
  };

  const signingKey = (tenant: TenantContext, samlApp: SamlApp) => appSigningKey(app, tenant.id, samlApp);

  /** A signed SAML error Response to the (registered) ACS URL. */
  const refuse = async (ctx: Context, samlApp: SamlApp, target: ResponseTarget, second: string, message: string, relayState: string | undefined) => {
    const response = errorResponseXml(target, second, message, app.clock());
    await post(ctx, samlApp, target.acsUrl, signedErrorResponse(samlApp, await signingKey(tenantOf(ctx), samlApp), response), relayState);
  };

  const audit = (ctx: Context, type: string, samlApp: SamlApp, details: Record<string, unknown>, user?: string) => auditSamlEvent(app, ctx, tenantOf(ctx).id, type, samlApp, details, user);

  const sso = async (ctx: Context, binding: 'redirect' | 'post') => {
    const tenant = tenantOf(ctx);
    const endpoints = idpEndpoints(tenant.issuer);
    let inbound;
    try {
      const encoded = binding === 'redirect' ? fromRedirect(ctx.querystring) : fromPost(((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>);
      inbound = await readInbound<TrustedApp>(encoded, 'AuthnRequest', {
        destination: endpoints.sso,
        nowMs: app.clock(),
        schema,
        findSp: async (entityId) => {
          const found = await app.samlApps.findByEntityId(tenant.id, entityId);
          return found ? trustOf(found) : undefined;
        },
        remember: messageMemory(app.ephemeral, tenant.id),
      });
    } catch (error) {
      if (!(error instanceof SamlMessageError)) throw error;
      ctx.state.log?.info({ code: error.code, reason: error.message }, 'SAML AuthnRequest refused');
      return errorPage(ctx, 400, 'This sign-in request was refused', `The app’s SAML request could not be accepted: ${error.message}. Go back to the app and try again; if it keeps happening, tell the app’s administrator.`);
    }
    const samlApp = inbound.sp.app;
    let fields: AuthnRequestFields;
    try {
      fields = authnRequestFields(inbound.root);
    } catch (error) {
      if (error instanceof SamlMessageError) return errorPage(ctx, 400, 'This sign-in request was refused', error.message);
      throw error;
    }
    const acsUrl = chooseAcs(samlApp, fields);
    if (!acsUrl) return errorPage(ctx, 400, 'This sign-in request was refused', `${samlApp.name} asked for its answer at an address it has not registered with this organisation.`);
    if (fields.protocolBinding !== undefined && fields.protocolBinding !== bindings.post) {
      return errorPage(ctx, 400, 'This sign-in request was refused', `${samlApp.name} asked for its answer over ${fields.protocolBinding}; Gatehouse answers over HTTP-POST only.`);
    }
    const target: ResponseTarget = { idpEntityId: endpoints.entityId, acsUrl, inResponseTo: fields.id };
    let nameIdFormat: string;
    try {
      nameIdFormat = chooseFormat(samlApp, fields.nameIdPolicy?.format);
    } catch (error) {
      if (error instanceof NameIdPolicyError) return refuse(ctx, samlApp, target, status.invalidNameIdPolicy, error.message, inbound.relayState);
      throw error;
    }
    const requirement = requirementOf(fields.requestedAuthnContext);
    if (!requirement.met) return refuse(ctx, samlApp, target, status.noAuthnContext, 'none of the requested authentication contexts can be met', inbound.relayState);
    // A fresh sign-in cannot happen without a page.
    if (fields.isPassive && fields.forceAuthn) return refuse(ctx, samlApp, target, status.noPassive, 'a forced sign-in needs a page, and the request asked for none', inbound.relayState);

    await leg.begin(
      ctx,
      tenant,
      {
        appId: samlApp.id,
        acsUrl,
        requestId: fields.id,
        ...(inbound.relayState !== undefined ? { relayState: inbound.relayState } : {}),
        nameIdFormat,
        ...(fields.requestedAuthnContext ? { requestedAuthnContext: fields.requestedAuthnContext } : {}),
        isPassive: fields.isPassive,
        forceAuthn: fields.forceAuthn,
      },
      requirement.acr,
    );
  };

  router.get(`/t/:tenant${samlRoot}/sso`, (ctx) => sso(ctx, 'redirect'));
  router.post(`/t/:tenant${samlRoot}/sso`, formBody(app.config.http.bodyLimit), (ctx) => sso(ctx, 'post'));

  router.get(`/t/:tenant${samlRoot}/callback`, async (ctx) => {
    const tenant = tenantOf(ctx);
    const endpoints = idpEndpoints(tenant.issuer);
    const state = typeof ctx.query['state'] === 'string' ? ctx.query['state'] : '';
    const cookie = state ? transactionCookie(state) : undefined;
    const bound = cookie !== undefined && readSignedCookie(ctx, tenant, cookie) === '1';
    const transaction = bound ? await transactions.take(tenant.id, state) : undefined;
    if (cookie) setSignedCookie(ctx, tenant, cookie, null, { path: callbackPath(tenant), secure });
    if (!transaction) return errorPage(ctx, 400, 'This sign-in has expired', 'This sign-in is no longer in progress in this browser. Go back to the app and sign in again.');
    const samlApp = await app.samlApps.get(tenant.id, transaction.appId);
    if (!samlApp) return errorPage(ctx, 400, 'This app is gone', 'The app you were signing in to is no longer registered with this organisation.');
    // The app may have changed while the person signed in: the answer still goes only to a URL registered now.
    if (!samlApp.acs.some((acs) => acs.url === transaction.acsUrl)) return errorPage(ctx, 400, 'This sign-in was refused', `${samlApp.name} no longer has the address this sign-in was to be answered at registered with this organisation. Go back to the app and sign in again.`);
    if (transaction.requestId === undefined && !samlApp.idpInitiated.allowed) return errorPage(ctx, 403, 'This sign-in was refused', `${samlApp.name} can no longer be opened from here: sign in from the app itself.`);
    const target: ResponseTarget = { idpEntityId: endpoints.entityId, acsUrl: transaction.acsUrl, ...(transaction.requestId ? { inResponseTo: transaction.requestId } : {}) };
    const refusal = (second: string, message: string) => refuse(ctx, samlApp, target, second, message, transaction.relayState);

    let claims: oidc.IDToken | undefined;
    try {
      const current = new URL(`${tenant.issuer}${samlRoot}/callback?${ctx.querystring}`);
      const tokens = await oidc.authorizationCodeGrant(await configOf(tenant), current, { pkceCodeVerifier: transaction.verifier, expectedState: state, expectedNonce: transaction.nonce });
      claims = tokens.claims();
    } catch (error) {
      if (error instanceof oidc.AuthorizationResponseError) {
        if (['login_required', 'interaction_required', 'consent_required', 'account_selection_required'].includes(error.error)) {
          return refusal(transaction.isPassive ? status.noPassive : status.authnFailed, 'the user could not be signed in without a page');
        }
        if (error.error === 'unmet_authentication_requirements') return refusal(status.noAuthnContext, 'the requested authentication context could not be met');
        return refusal(status.authnFailed, `the sign-in did not complete (${error.error})`);
      }
      throw error;
    }
    if (!claims) throw new Error('token response without an ID token');
    const user = await app.users.findById(tenant.id, String(claims.sub));
    if (!user || user.disabled) return refusal(status.authnFailed, 'the account cannot sign in');
    if (!mayUse(samlApp, user)) {
      await audit(ctx, 'saml.sso_refused', samlApp, { reason: 'not_assigned' }, user._id);
      return errorPage(ctx, 403, `No access to ${samlApp.name}`, `Your account has not been given access to ${samlApp.name}. Ask your administrator to assign it to you.`);
    }
    const authTimeMs = typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : app.clock();
    // ForceAuthn: the sign-in must have happened after the request (max_age=0 asked for it).
    if (transaction.forceAuthn && authTimeMs + 1000 < transaction.startedAtMs) return refusal(status.authnFailed, 'the user did not sign in again');
    const earned = typeof claims.acr === 'string' && isAcr(claims.acr) ? claims.acr : undefined;
    const requirement = requirementOf(transaction.requestedAuthnContext);
    const contextClass = earned && requirement.met ? requirement.accept(earned) : undefined;
    if (!contextClass) return refusal(status.noAuthnContext, 'the sign-in did not reach the requested authentication context');

    let nameId;
    try {
      nameId = nameIdFor(user, samlApp, transaction.nameIdFormat, { pairwiseKey: app.samlPairwiseKey, idpEntityId: endpoints.entityId });
    } catch (error) {
      if (error instanceof NameIdPolicyError) return refusal(status.invalidNameIdPolicy, error.message);
      throw error;
    }
    const sid = typeof claims['sid'] === 'string' ? claims['sid'] : '';
    const response = responseXml({
      target,
      app: samlApp,
      nameId,
      authnInstantMs: authTimeMs,
      authnContextClass: contextClass,
      sessionIndex: `_${createHash('sha256').update(`${tenant.id}\0${sid}`).digest('hex').slice(0, 40)}`,
      attributes: samlApp.attributes.map((mapping) => ({ mapping, values: attributeValues(user, mapping, user.roles ?? []) })),
      nowMs: app.clock(),
    });
    const message = await signedResponse(samlApp, transaction.acsUrl, await signingKey(tenant, samlApp), endpoints.entityId, response);
    await recordParticipation(app, tenant, { sid, accountId: user._id, app: samlApp, nameId });
    await audit(ctx, 'saml.sso', samlApp, { name_id_format: nameId.format, acr: earned, response_id: response.id, idp_initiated: transaction.requestId === undefined }, user._id);
    await post(ctx, samlApp, transaction.acsUrl, message, transaction.relayState);
  });
}
