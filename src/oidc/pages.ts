import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { renderPage, type PageTenant } from '../http/views.js';
import { startAgainUrlOf } from './clients.js';
import { readProviderForm } from './provider-form.js';

function requestIdOf(ctx: KoaContextWithOIDC): string | undefined {
  const value = ctx.get('x-request-id');
  return value || undefined;
}

/** How the cancel button reaches the provider (src/interactions/steps/abort.ts). */
export const ABORTED = { error: 'access_denied', error_description: 'End-User aborted interaction' } as const;

/**
 * The provider's own pages (protocol errors shown to a browser, logout confirmation, signed-out
 * notice) rendered with our templates instead of oidc-provider's built-in ones.
 */
export function pagesFor(tenant: PageTenant) {
  const renderError: NonNullable<Configuration['renderError']> = async (ctx, out, error) => {
    const status = (error as { statusCode?: number; status?: number }).statusCode ?? (error as { status?: number }).status ?? 500;
    ctx.type = 'html';
    if (out.error === ABORTED.error && out.error_description === ABORTED.error_description) {
      // The user pressed Cancel and the client cannot be redirected to (it is gone, or its
      // redirect URI is): nothing went wrong, so say what happened and offer a way back.
      const { client } = ctx.oidc;
      ctx.body = await renderPage('cancelled', {
        title: 'Sign-in cancelled',
        tenant,
        requestId: requestIdOf(ctx),
        clientName: client?.clientName ?? undefined,
        backUrl: startAgainUrlOf(client),
      });
      return;
    }
    ctx.body = await renderPage('error', {
      title: 'Something went wrong',
      tenant,
      requestId: requestIdOf(ctx),
      heading: status >= 500 ? 'Something went wrong' : 'This request cannot be completed',
      message: out.error_description ? `${out.error}: ${out.error_description}` : out.error,
      status,
    });
  };

  const logoutSource = async (ctx: KoaContextWithOIDC, form: string) => {
    // oidc-provider hands us its form as HTML; we take only the action and the xsrf value so our
    // template can render its own, escaped form.
    const { action, fields } = readProviderForm(form);
    ctx.type = 'html';
    ctx.body = await renderPage('logout', {
      title: 'Sign out',
      tenant,
      requestId: requestIdOf(ctx),
      action,
      xsrf: fields['xsrf'] ?? '',
      clientName: ctx.oidc.client?.clientName ?? undefined,
    });
  };

  const postLogoutSuccessSource = async (ctx: KoaContextWithOIDC) => {
    ctx.type = 'html';
    ctx.body = await renderPage('logged-out', {
      title: 'Signed out',
      tenant,
      requestId: requestIdOf(ctx),
      clientName: ctx.oidc.client?.clientName ?? undefined,
    });
  };

  return { renderError, logoutSource, postLogoutSuccessSource };
}

