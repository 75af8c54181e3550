import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { renderPage, type PageTenant } from '../http/views.js';
import { startAgainUrlOf } from './clients.js';
import { readProviderForm } from './provider-form.js';

/** The request id the page footer shows (the root app or the fast path set it). */
export function requestIdOf(ctx: KoaContextWithOIDC): string | undefined {
  const value = ctx.get('x-request-id');
  return value || undefined;
}

/** Answers a provider page hook with one of our templates, the tenant's branding and the request id. */
export async function answerWithPage(ctx: KoaContextWithOIDC, tenant: PageTenant, page: string, locals: { title: string } & Record<string, unknown>): Promise<void> {
  ctx.type = 'html';
  ctx.body = await renderPage(page, { ...locals, tenant, requestId: requestIdOf(ctx) });
}

/**
 * The action and xsrf value of a form oidc-provider hands to a page hook, so our template renders
 * its own, escaped form rather than the provider's markup (`provider-form.ts`).
 */
export function providerFormOf(html: string): { action: string; xsrf: string; fields: Record<string, string> } {
  const { action, fields } = readProviderForm(html);
  return { action, xsrf: fields['xsrf'] ?? '', fields };
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
    const { action, xsrf } = providerFormOf(form);
    await answerWithPage(ctx, tenant, 'logout', { title: 'Sign out', action, xsrf, clientName: ctx.oidc.client?.clientName ?? undefined });
  };

  const postLogoutSuccessSource = async (ctx: KoaContextWithOIDC) => {
    await answerWithPage(ctx, tenant, 'logged-out', { title: 'Signed out', clientName: ctx.oidc.client?.clientName ?? undefined });
  };

  return { renderError, logoutSource, postLogoutSuccessSource };
}

