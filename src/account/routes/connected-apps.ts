import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ACCOUNT_CLIENT_ID, SAML_CLIENT_ID } from '../../domain/clients.js';
import { csrfTokenFor, formBody, parseFields, verifyForm } from '../../http/forms.js';
import { grantsOf, revokeAccountGrant, type GrantView } from '../../oidc/account-sessions.js';
import { clientNamer } from '../client-names.js';
import type { AccountConsole, SignedIn } from '../console.js';
import { securityPage } from '../security-page.js';
import { logoutCounts } from './sessions.js';

/**
 * Grants the page does not offer to revoke: the console's own (it holds no token, and revoking it
 * would only make the next console sign-in ask again) and the SAML bridge's (SAML apps hold no
 * OAuth tokens; they are under "My apps").
 */
const NOT_LISTED: ReadonlySet<string> = new Set([ACCOUNT_CLIENT_ID, SAML_CLIENT_ID]);

const revokeFields = z.object({ client: z.string().min(1).max(256) });

const iso = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString());

/** The account's grants per client, the console's own and the SAML bridge's left out. */
async function grantsByClient(site: AccountConsole, ctx: Context, current: SignedIn): Promise<Map<string, GrantView[]>> {
  const byClient = new Map<string, GrantView[]>();
  for (const grant of await grantsOf(site.tenantOf(ctx), current.user._id)) {
    if (!grant.clientId || NOT_LISTED.has(grant.clientId)) continue;
    byClient.set(grant.clientId, [...(byClient.get(grant.clientId) ?? []), grant]);
  }
  return byClient;
}

/**
 * "Connected apps": the apps that hold access to the account (the grants of the provider), one
 * row per app with what it was allowed (scopes, API scopes) and when, and "Revoke", which revokes
 * every grant of that app with the tokens issued from them (`revokeAccountGrant`: its refresh
 * tokens are refused from then on) and sends back-channel logout for the browser sessions that
 * hold them. Distinct from "My apps" (`apps.ts`, SAML apps to open). Audited per grant with the
 * user as the actor.
 */
export function connectedAppRoutes(router: Router, site: AccountConsole): void {
  const { app } = site;
  const body = formBody(app.config.http.bodyLimit);
  const { audit } = securityPage(site);
  const base = (ctx: Context) => `${site.pathOf(site.tenantOf(ctx))}/connected-apps`;

  const show = async (ctx: Context, current: SignedIn, messages: { notice?: string; error?: string } = {}, status = 200) => {
    const tenant = site.tenantOf(ctx);
    const clientName = clientNamer(app, tenant.id);
    const apps = await Promise.all(
      [...(await grantsByClient(site, ctx, current))].map(async ([clientId, grants]) => {
        const scopes = [...new Set(grants.flatMap((grant) => grant.scopes))];
        const apis = Object.entries(Object.fromEntries(grants.flatMap((grant) => Object.entries(grant.resources)))).map(([resource, resourceScopes]) => ({ resource, scopes: resourceScopes }));
        const granted = grants.map((grant) => grant.createdAt).filter((at): at is number => at !== undefined);
        return {
          clientId,
          name: await clientName(clientId),
          scopes,
          apis,
          offline: scopes.includes('offline_access'),
          grantedAt: iso(granted.length ? Math.max(...granted) : undefined),
        };
      }),
    );
    apps.sort((a, b) => a.name.localeCompare(b.name));
    ctx.status = status;
    ctx.body = await site.page(ctx, 'account-connected-apps', 'Connected apps', {
      apps,
      csrfToken: csrfTokenFor(tenant, `account:${current.id}`),
      revokeUrl: `${base(ctx)}/revoke`,
      backUrl: site.pathOf(tenant),
      ...messages,
    });
  };

  router.get('/connected-apps', async (ctx) => {
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.redirect(`${site.pathOf(site.tenantOf(ctx))}/login?next=connected-apps`);
      return;
    }
    await show(ctx, current);
  });

  router.post('/connected-apps/revoke', body, async (ctx) => {
    const tenant = site.tenantOf(ctx);
    const current = await site.signedIn(ctx);
    if (!current) {
      ctx.status = 303;
      ctx.redirect(`${site.pathOf(tenant)}/login?next=connected-apps`);
      return;
    }
    const fields = verifyForm(ctx, tenant, `account:${current.id}`, new URL(app.config.publicUrl).origin);
    const { client } = parseFields(revokeFields, fields);
    const grants = (await grantsByClient(site, ctx, current)).get(client) ?? [];
    let revoked = 0;
    for (const grant of grants) {
      const ended = await revokeAccountGrant(tenant, current.user._id, grant.id);
      if (!ended.ended) continue; // revoked in parallel by another request, which audits it
      revoked += 1;
      await audit(ctx, current, 'user.grant_revoked', { grant: grant.id, client_id: client, backchannel_logouts: logoutCounts(ctx, tenant.id, ended.backchannelLogouts) });
    }
    if (revoked === 0) return show(ctx, current, { error: 'That app holds no access to your account (any more).' }, 404);
    await show(ctx, current, { notice: `${await clientNamer(app, tenant.id)(client)} no longer has access to your account.` });
  });
}
