import type { Context } from 'koa';
import type { AppContext } from '../app-context.js';
import type { SamlApp } from '../domain/saml-apps.js';
import type { SigningKey } from './response.js';

/**
 * The key every message to an app is signed with, Responses and logout messages alike: the one the
 * app is pinned to, else the tenant's active one (docs/saml.md, "Certificates and rotation"). An
 * app that trusts only its pinned certificate must get every message signed by it.
 */
export async function appSigningKey(app: AppContext, tenant: string, samlApp: SamlApp): Promise<SigningKey> {
  const key = await app.samlKeys.signingKey(tenant, new Date(app.clock()), samlApp.signingKid);
  return { privateKeyPem: key.privateKeyPem, certificate: key.certificate };
}

/** An audit event about an app: by the user where one is known, else by the anonymous SAML endpoint. */
export function auditSamlEvent(app: AppContext, ctx: Context, tenant: string, type: string, samlApp: SamlApp, details: Record<string, unknown>, user?: string) {
  return app.audit.record({
    tenant,
    type,
    actor: user ? { type: 'user', id: user, tenant } : { type: 'anonymous', id: 'saml', tenant },
    target: { type: 'saml_app', id: samlApp.id },
    details: { entity_id: samlApp.entityId, ...details },
    requestId: ctx.state.requestId as string,
  });
}
