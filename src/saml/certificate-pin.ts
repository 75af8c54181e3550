import type { AppContext } from '../app-context.js';
import type { SamlApp } from '../domain/saml-apps.js';
import type { SamlKeyInfo } from '../domain/saml-keys.js';
import { AppError } from '../errors.js';

/** The certificate an app is signed with, and whether that is a pin or the tenant's active one. */
export interface AppSigningCertificate {
  pinned: boolean;
  key: SamlKeyInfo;
}

/** What the audit trail keeps of an app's signing certificate: which one, never key material. */
export function auditedSigning(signing: AppSigningCertificate | undefined): Record<string, unknown> | null {
  return signing ? { pinned: signing.pinned, kid: signing.key.kid, state: signing.key.state, fingerprint_sha256: signing.key.fingerprint, not_after: signing.key.notAfter.toISOString() } : null;
}

async function findApp(app: AppContext, tenant: string, id: string): Promise<SamlApp> {
  const found = await app.samlApps.get(tenant, id);
  if (!found) throw new AppError('not_found', `There is no SAML app "${id}".`);
  return found;
}

/** The certificate `samlApp` is signed with now. */
export async function signingCertificateOf(app: AppContext, samlApp: SamlApp, now: Date): Promise<AppSigningCertificate> {
  const keys = await app.samlKeys.list(samlApp.tenant, now);
  if (samlApp.signingKid === undefined) return { pinned: false, key: keys[0]! };
  const pinned = keys.find((key) => key.kid === samlApp.signingKid);
  // Only a retirement racing the pin leaves it dangling; signing then fails closed (saml-keys.ts).
  if (!pinned) throw new AppError('conflict', `SAML app "${samlApp.id}" is pinned to certificate "${samlApp.signingKid}", which is no longer published: pin it to another or unpin it.`);
  return { pinned: true, key: pinned };
}

/**
 * Per-app activation (docs/saml.md, "Certificates and rotation"): the app is signed with `kid`, a
 * published certificate of its tenant (active, next or previous), instead of the tenant's active
 * one, so SPs can move to a new certificate one at a time. Answers the certificate before and after.
 * The key is looked for again after the pin is written, and a retirement checks for pins before it
 * deletes, so of a pin and a retirement at the same time one loses, but for the narrowest window
 * (the retirement's check before the pin, its delete after the pin's second look); an app left
 * pinned to a deleted key then fails closed: it is not signed for at all until pinned again.
 */
export async function pinSigningCertificate(app: AppContext, tenant: string, id: string, kid: string, now: Date): Promise<{ before: AppSigningCertificate | undefined; after: AppSigningCertificate }> {
  const samlApp = await findApp(app, tenant, id);
  const before = await signingCertificateOf(app, samlApp, now).catch(() => undefined);
  const key = (await app.samlKeys.list(tenant, now)).find((candidate) => candidate.kid === kid);
  if (!key) throw new AppError('not_found', `There is no SAML certificate "${kid}" in this tenant.`);
  if (!(await app.samlApps.setSigningKid(tenant, id, kid, now))) throw new AppError('not_found', `There is no SAML app "${id}".`);
  if (!(await app.samlKeys.list(tenant, now)).some((candidate) => candidate.kid === kid)) {
    await app.samlApps.setSigningKid(tenant, id, samlApp.signingKid, now);
    throw new AppError('conflict', `SAML certificate "${kid}" was retired at the same time; list the certificates and try again.`);
  }
  return { before, after: { pinned: true, key } };
}

/** Has the app follow the tenant's active certificate again. */
export async function unpinSigningCertificate(app: AppContext, tenant: string, id: string, now: Date): Promise<{ before: AppSigningCertificate | undefined; after: AppSigningCertificate }> {
  const samlApp = await findApp(app, tenant, id);
  const before = await signingCertificateOf(app, samlApp, now).catch(() => undefined);
  const updated = await app.samlApps.setSigningKid(tenant, id, undefined, now);
  if (!updated) throw new AppError('not_found', `There is no SAML app "${id}".`);
  return { before, after: await signingCertificateOf(app, updated, now) };
}

/**
 * Retires a certificate (`SamlKeyRepository.retire`) unless an app is pinned to it: 409 naming
 * the apps, which must be unpinned (or pinned to another certificate) first.
 */
export async function retireCertificate(app: AppContext, tenant: string, kid: string, now: Date): Promise<SamlKeyInfo> {
  const pinned = await app.samlApps.pinnedTo(tenant, kid);
  if (pinned.length) {
    const names = pinned.map((samlApp) => `"${samlApp.name}" (${samlApp.id})`).join(', ');
    throw new AppError('conflict', `SAML certificate "${kid}" signs for ${pinned.length === 1 ? 'the app' : 'the apps'} ${names}, pinned to it: unpin ${pinned.length === 1 ? 'it' : 'them'} or pin ${pinned.length === 1 ? 'it' : 'them'} to another certificate first.`);
  }
  return app.samlKeys.retire(tenant, kid, now);
}
