import Router from '@koa/router';
import type { Context } from 'koa';
import type { PowRefusal, ProofOfWork } from '../authn/proof-of-work.js';
import { proofOfWorkEnabled, proofOfWorkOf, proofOfWorkPurposes, type ProofOfWorkPurpose, type TenantProofOfWork } from '../domain/proof-of-work-settings.js';

/**
 * The HTTP side of proof-of-work (`authn/proof-of-work.ts`): the endpoint the widget fetches its
 * challenge from, the locals of `views/partials/proof-of-work.ejs`, and the check a form's POST
 * runs before it does anything else. A form of ours protects itself in three lines:
 *
 * ```ts
 * const pow = await checkProofOfWork(app.proofOfWork, tenant, 'password_reset', fields);
 * if (!pow.ok) return showForm({ error: pow.message, proofOfWork: proofOfWorkWidget(tenant, 'password_reset') }, 400);
 * // ...only now count, send or write anything
 * ```
 */

/** The form field the widget fills with its answer (base64 JSON). */
export const POW_FIELD = 'altcha';

/** Where under a tenant the challenges are (`tenant-routes.ts`): `/t/{tenant}/proof-of-work/{purpose}`. */
export const proofOfWorkRoot = '/proof-of-work';

/** Purposes as they appear in the URL (`sign_in` -> `sign-in`). */
const pathOf = (purpose: ProofOfWorkPurpose) => purpose.replace('_', '-');
const purposeOfPath = new Map(proofOfWorkPurposes.map((purpose) => [pathOf(purpose), purpose]));

/** What a page says when a form came without a finished check, and when the check failed. */
export const powMessages = {
  missing: 'Please wait while your browser checks that you are not a robot, then try again.',
  failed: 'The check did not complete; try again.',
} as const;

/** What this module needs of a tenant context: its id, the path of its issuer and its stored settings. */
export interface PowTenant {
  id: string;
  issuer: string;
  settings: { securityPolicy?: { proofOfWork?: TenantProofOfWork } };
}

/** The locals of `views/partials/proof-of-work.ejs`. */
export interface PowWidget {
  challengeUrl: string;
  /** `onload` starts solving when the page opens (a form the user takes time to fill in); `onsubmit` only on the button (a page of several forms) */
  auto: 'onload' | 'onsubmit';
  field: typeof POW_FIELD;
}

/** The widget of one form: where it fetches its challenge and when it starts. */
export function proofOfWorkWidget(tenant: PowTenant, purpose: ProofOfWorkPurpose, auto: PowWidget['auto'] = 'onload'): PowWidget {
  return { challengeUrl: `${new URL(tenant.issuer).pathname}${proofOfWorkRoot}/${pathOf(purpose)}`, auto, field: POW_FIELD };
}

/** The widget when the tenant turned `purpose` on (sign-up, reset, SMS), else undefined. */
export function proofOfWorkWidgetIfOn(tenant: PowTenant, purpose: Exclude<ProofOfWorkPurpose, 'sign_in'>, auto: PowWidget['auto'] = 'onload'): PowWidget | undefined {
  return proofOfWorkEnabled(tenant.settings.securityPolicy?.proofOfWork, purpose) ? proofOfWorkWidget(tenant, purpose, auto) : undefined;
}

export type PowCheck = { ok: true } | { ok: false; reason: PowRefusal; message: string };

/**
 * Checks and uses up the solution a form POST carries for `purpose`. Call it after CSRF and before
 * anything is counted, sent or written, and answer a refusal with HTTP 400 and the form again
 * (with the widget) showing `message`. Only the purposes the tenant turned on are checked here;
 * the sign-in decides for itself when a solution is due (after failures) and calls {@link requireProofOfWork}.
 */
export async function checkProofOfWork(pow: ProofOfWork, tenant: PowTenant, purpose: Exclude<ProofOfWorkPurpose, 'sign_in'>, fields: Record<string, unknown>): Promise<PowCheck> {
  if (!proofOfWorkEnabled(tenant.settings.securityPolicy?.proofOfWork, purpose)) return { ok: true };
  return requireProofOfWork(pow, tenant, purpose, fields);
}

/** Checks and uses up a solution that is due whatever the settings say. */
export async function requireProofOfWork(pow: ProofOfWork, tenant: PowTenant, purpose: ProofOfWorkPurpose, fields: Record<string, unknown>): Promise<PowCheck> {
  const verdict = await pow.verify(tenant.id, purpose, fields[POW_FIELD]);
  if (verdict.ok) return verdict;
  return { ok: false, reason: verdict.reason, message: verdict.reason === 'missing' ? powMessages.missing : powMessages.failed };
}

/**
 * `GET /t/{tenant}/proof-of-work/{purpose}`: a new challenge as JSON, for a purpose the tenant
 * turned on (404 otherwise, so the endpoint says nothing and costs nothing for the others).
 * Issuing costs the server one key derivation (about a third of a millisecond), like a page render.
 */
export function proofOfWorkRouter(app: { proofOfWork: ProofOfWork }): Router {
  const router = new Router();
  router.get(`/t/:tenant${proofOfWorkRoot}/:purpose`, async (ctx: Context) => {
    const tenant = ctx.state.tenant as PowTenant;
    const purpose = purposeOfPath.get(String(ctx.params['purpose']));
    const settings = tenant.settings.securityPolicy?.proofOfWork;
    if (!purpose || !proofOfWorkEnabled(settings, purpose)) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'No challenge is issued for that here.' };
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await app.proofOfWork.issue(tenant.id, purpose, proofOfWorkOf(settings).difficulty);
  });
  return router;
}
