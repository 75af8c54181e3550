import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { passkeyName } from '../../authn/webauthn.js';
import { registrationResponseSchema } from '../../authn/webauthn-json.js';
import { mfaAuditEvents } from '../../domain/audit.js';
import { AppError } from '../../errors.js';
import { formBody, parseFields } from '../../http/forms.js';
import type { AccountConsole } from '../console.js';
import { securityPage } from '../security-page.js';

const nameField = z.string().max(64, 'at most 64 characters').optional();
const optionsFields = z.object({ name: nameField });
const verifyFields = z.object({ registration_id: z.string().max(64), name: nameField, response: registrationResponseSchema });
const renameFields = z.object({ name: z.string().trim().min(1).max(64, 'at most 64 characters') });

/**
 * Passkeys in the console's Security section: the page's script (`views/assets/account-passkeys.js`)
 * asks for registration options and sends the new credential back, as JSON under the console's CSRF
 * token and the fresh-sign-in rule; renaming is a plain form. The registration is bound to the
 * console session. Listing and removal are the Security section's, as for every factor.
 */
export function passkeyRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: app.config.http.bodyLimit, encoding: 'utf-8', jsonStrict: true }) as unknown as Middleware;
  const form = formBody(app.config.http.bodyLimit);
  const { base, forChange, audit, showSecurity } = securityPage(site);

  router.post('/security/passkeys/options', json, async (ctx) => {
    const change = await forChange(ctx, { json: true });
    if (!change) return;
    const tenant = site.tenantOf(ctx);
    passkeyName(parseFields(optionsFields, change.fields).name);
    const started = await app.mfa.webauthn.startRegistration(tenant.settings, change.current.user._id, { bindTo: `console:${change.current.id}` });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { registration_id: started.registrationId, options: started.options };
  });

  router.post('/security/passkeys/verify', json, async (ctx) => {
    const change = await forChange(ctx, { json: true });
    if (!change) return;
    const { current } = change;
    const tenant = site.tenantOf(ctx);
    const input = parseFields(verifyFields, change.fields);
    const factor = await app.mfa.webauthn.finishRegistration(tenant.settings, current.user._id, {
      registrationId: input.registration_id,
      bindTo: `console:${current.id}`,
      response: input.response,
      ...(input.name !== undefined ? { name: input.name } : {}),
    });
    await audit(ctx, current, mfaAuditEvents.factorEnrolled, { factorId: factor.id, type: factor.type });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { id: factor.id, name: factor.name, location: `${base(ctx)}?added=${encodeURIComponent(factor.id)}` };
  });

  router.post('/security/factors/:factorId/rename', form, async (ctx) => {
    const change = await forChange(ctx);
    if (!change) return;
    const { current } = change;
    const tenant = site.tenantOf(ctx).id;
    let name: string;
    try {
      name = passkeyName(parseFields(renameFields, change.fields).name);
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_request') return showSecurity(ctx, current, { error: 'A passkey’s name is 1 to 64 characters of text.' }, 400);
      throw error;
    }
    const renamed = await app.mfa.webauthnCredentials.rename(tenant, current.user._id, String(ctx.params['factorId']), name);
    if (!renamed) return showSecurity(ctx, current, { error: 'That passkey does not exist (any more).' }, 404);
    const before = change.factors.find((factor) => factor.id === renamed.id)?.name;
    await audit(ctx, current, mfaAuditEvents.factorRenamed, { factorId: renamed.id, type: renamed.type, before, after: renamed.name });
    await showSecurity(ctx, current, { notice: `Passkey renamed to ${renamed.name}.` });
  });
}
