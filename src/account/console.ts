import type { Context } from 'koa';
import type * as oidc from 'openid-client';
import type { AppContext } from '../app-context.js';
import type { User } from '../domain/users.js';
import { readSignedCookie, setSignedCookie } from '../http/signed-cookie.js';
import { renderPage } from '../http/views.js';
import type { TenantContext } from '../tenancy/tenant-context.js';
import { CibaApprovals } from './ciba-approvals.js';
import { accountClientConfig, type LocalOrigin } from '../built-in-client.js';
import { providerSessionAlive } from './provider-session.js';
import { ConsoleSessions, type ConsoleSession } from './sessions.js';

export const SESSION_COOKIE = 'gh_account';

/** A signed-in console user: the cookie's session id, the session and the user it names. */
export interface SignedIn {
  id: string;
  session: ConsoleSession;
  user: User;
}

/** What every route of the account console shares: its sessions, pages, paths and OIDC client. */
export interface AccountConsole {
  readonly app: AppContext;
  readonly sessions: ConsoleSessions;
  /** the built-in CIBA authentication device's decisions (shared with the approval API) */
  readonly cibaApprovals: CibaApprovals;
  /** cookies are `Secure` when the public URL is https */
  readonly secure: boolean;
  tenantOf(ctx: Context): TenantContext;
  /** the console's path under the tenant (`/t/{tenant}/account`) */
  pathOf(tenant: TenantContext): string;
  /** the console's OIDC client configuration for the tenant (discovered once per built tenant) */
  configOf(tenant: TenantContext): Promise<oidc.Configuration>;
  page(ctx: Context, name: string, title: string, locals: Record<string, unknown>): Promise<string>;
  /**
   * The signed-in user, or undefined (the cookie then goes): the console's session must be live,
   * its user still enabled, and the provider's session it signed in through not ended.
   */
  signedIn(ctx: Context): Promise<SignedIn | undefined>;
}

export function accountConsole(app: AppContext, localOrigin: LocalOrigin): AccountConsole {
  const sessions = new ConsoleSessions(app.ephemeral, app.clock);
  const configs = new WeakMap<TenantContext, Promise<oidc.Configuration>>();
  const secure = app.config.publicUrl.startsWith('https:');
  const tenantOf = (ctx: Context) => ctx.state.tenant as TenantContext;
  const pathOf = (tenant: TenantContext) => `${new URL(tenant.issuer).pathname}/account`;

  return {
    app,
    sessions,
    cibaApprovals: new CibaApprovals(app),
    secure,
    tenantOf,
    pathOf,
    configOf(tenant) {
      let config = configs.get(tenant);
      if (!config) {
        config = accountClientConfig(app, tenant, localOrigin);
        configs.set(tenant, config);
        config.catch(() => configs.delete(tenant));
      }
      return config;
    },
    page(ctx, name, title, locals) {
      ctx.set('Cache-Control', 'no-store');
      return renderPage(name, { title, tenant: tenantOf(ctx), requestId: ctx.state.requestId as string, ...locals });
    },
    async signedIn(ctx) {
      const tenant = tenantOf(ctx);
      const id = readSignedCookie(ctx, tenant, SESSION_COOKIE);
      if (!id) return undefined;
      const session = await sessions.find(tenant.id, id);
      const user = session ? await app.users.findById(tenant.id, session.sub) : null;
      if (session && user && !user.disabled && session.sid && (await providerSessionAlive(tenant, session.sub, session.sid))) return { id, session, user };
      await sessions.delete(tenant.id, id);
      setSignedCookie(ctx, tenant, SESSION_COOKIE, null, { path: pathOf(tenant), secure });
      return undefined;
    },
  };
}
