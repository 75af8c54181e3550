import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { deviceAuditEvents, type AuditActor, type AuditRepository } from '../domain/audit.js';
import { scopeDescriptions } from '../domain/scope-descriptions.js';
import type { PageTenant } from '../http/views.js';
import { answerWithPage, providerFormOf, requestIdOf } from './pages.js';

type DeviceFlow = NonNullable<NonNullable<Configuration['features']>['deviceFlow']>;

/** Set on the request by the code entry page when the code was refused, so the guess throttle counts it (`device-limits.ts`). */
export const REFUSED_USER_CODE = 'gatehouseRefusedUserCode';

/**
 * User codes: 8 letters of oidc-provider's `base-20` alphabet (consonants only: no vowels to spell
 * words, no 0/O or 1/I to confuse), shown as `XXXX-XXXX`; 20^8 is about 2^34.6 codes, and the
 * provider ignores case, spaces and dashes when one is typed.
 */
export const USER_CODE = { charset: 'base-20', mask: '****-****' } as const;

/** Why the provider refused a typed code, in words for the person typing it. */
const refusals: Record<string, string> = {
  NoCodeError: 'Enter the code shown on your device.',
  NotFoundError: 'That code is not valid. Check it on your device and try again.',
  ExpiredError: 'That code has expired. Start again on your device to get a new one.',
  AlreadyUsedError: 'That code has been used already. Start again on your device to get a new one.',
};

interface DeviceCodeLike {
  clientId?: string;
  iat?: number;
  params?: Record<string, unknown>;
}

/**
 * The device flow's pages (code entry, confirmation, result) in our templates, through the
 * provider's page hooks, and the audit events of approvals and denials. The provider's forms are
 * read for their action and values (`provider-form.ts`), never inserted as markup.
 */
export function deviceFlowFeature(deps: { tenant: PageTenant; enabled: boolean; audit: AuditRepository }): DeviceFlow {
  const { tenant } = deps;
  const audit = async (ctx: KoaContextWithOIDC, type: string, code: DeviceCodeLike | undefined) => {
    const accountId = ctx.oidc.session?.accountId;
    const actor: AuditActor = accountId ? { type: 'user', id: accountId, tenant: tenant.id } : { type: 'anonymous', id: 'anonymous', tenant: tenant.id };
    const clientId = code?.clientId ?? ctx.oidc.client?.clientId;
    const requestId = requestIdOf(ctx);
    await deps.audit.record({ tenant: tenant.id, type, actor, target: { type: 'client', id: clientId ?? 'unknown' }, ...(requestId ? { requestId } : {}) });
  };

  const userCodeInputSource: DeviceFlow['userCodeInputSource'] = async (ctx, form, _out, err) => {
    if (err?.name === 'AbortedError') {
      // Denied on the confirmation page, or the sign-in that followed it was cancelled.
      await audit(ctx, deviceAuditEvents.denied, ctx.oidc.entities.DeviceCode as DeviceCodeLike | undefined);
      ctx.status = 200;
      await answerWithPage(ctx, tenant, 'device-result', { title: 'Sign-in denied', outcome: 'denied' });
      return;
    }
    const refusal = err ? (refusals[err.name] ?? 'Something went wrong. Start again on your device.') : undefined;
    if (err && err.name in refusals) (ctx.state as Record<string, unknown>)[REFUSED_USER_CODE] = true;
    const { action, xsrf, fields } = providerFormOf(form);
    await answerWithPage(ctx, tenant, 'device-code', { title: 'Connect a device', action, xsrf, userCode: fields['user_code'] ?? '', error: refusal });
  };

  const userCodeConfirmSource: DeviceFlow['userCodeConfirmSource'] = async (ctx, form, client, _deviceInfo, userCode) => {
    const { action, xsrf } = providerFormOf(form);
    const code = ctx.oidc.entities.DeviceCode as DeviceCodeLike | undefined;
    const scope = typeof code?.params?.['scope'] === 'string' ? code.params['scope'] : '';
    const scopes = scope
      .split(' ')
      .filter(Boolean)
      .map((name) => ({ name, description: scopeDescriptions[name] ?? name }));
    await answerWithPage(ctx, tenant, 'device-confirm', {
      title: 'Confirm the device',
      action,
      xsrf,
      userCode,
      clientName: client.clientName ?? client.clientId,
      scopes,
      requestedAt: code?.iat ? new Date(code.iat * 1000) : undefined,
    });
  };

  const successSource: DeviceFlow['successSource'] = async (ctx) => {
    await audit(ctx, deviceAuditEvents.approved, ctx.oidc.entities.DeviceCode as DeviceCodeLike | undefined);
    await answerWithPage(ctx, tenant, 'device-result', { title: 'Device connected', outcome: 'approved', clientName: ctx.oidc.client?.clientName ?? undefined });
  };

  return { enabled: deps.enabled, ...USER_CODE, userCodeInputSource, userCodeConfirmSource, successSource };
}
