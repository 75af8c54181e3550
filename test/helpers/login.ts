import * as client from 'openid-client';
import { expect } from 'vitest';
import { Browser, expectPage, expectRedirect, type Page } from './browser.js';
import { TEST_PASSWORD, type TestGatehouse } from './gatehouse.js';

/** An openid-client configuration for a tenant's client (http is allowed on loopback only). */
export async function relyingParty(gh: TestGatehouse, tenant: string, clientId: string, clientSecret?: string): Promise<client.Configuration> {
  return client.discovery(new URL(gh.issuer(tenant)), clientId, clientSecret, clientSecret ? client.ClientSecretBasic(clientSecret) : client.None(), {
    execute: [client.allowInsecureRequests],
  });
}

export interface AuthorizationOptions {
  redirectUri: string;
  scope?: string;
  username?: string;
  password?: string;
  extra?: Record<string, string>;
  /** stop at the consent page instead of allowing */
  consent?: boolean;
}

/**
 * Runs an authorization request through the real login (and consent) pages as a browser would and
 * returns the URL the relying party is sent back to, with the PKCE verifier and state.
 */
export async function authorize(browser: Browser, config: client.Configuration, options: AuthorizationOptions) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile email phone offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    prompt: 'consent',
    ...options.extra,
  });
  const login = expectPage(await browser.navigate(url.href, {}, options.redirectUri));
  expect(login.$('h1').text()).toContain('Sign in');
  const afterLogin = await browser.submit(login, 'form[action$="/password"]', { username: options.username ?? 'alice', password: options.password ?? TEST_PASSWORD }, options.redirectUri);
  let callback: string;
  if ('redirectedTo' in afterLogin) {
    callback = afterLogin.redirectedTo;
  } else {
    expect(afterLogin.$('form[action$="/consent"]').length, afterLogin.$('main').text()).toBe(1);
    callback = expectRedirect(await browser.submit(afterLogin, 'form[action$="/consent"]', {}, options.redirectUri));
  }
  return { callback: new URL(callback), verifier, state };
}

/** The login page of a fresh authorization request (with `extra` parameters, e.g. `prompt`). */
export async function openLoginPage(browser: Browser, config: client.Configuration, redirectUri: string, extra: Record<string, string> = {}): Promise<Page> {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...extra,
  });
  return expectPage(await browser.navigate(url.href, {}, redirectUri));
}

/**
 * `count` browsers each open a login page, then all submit a wrong password for `username` at
 * once: the status of each answer (401 checked and wrong, 429 throttled before the check).
 */
export async function wrongPasswordBurst(origin: string, config: client.Configuration, redirectUri: string, username: string, count: number): Promise<number[]> {
  const pages = await Promise.all(
    Array.from({ length: count }, async () => {
      const browser = new Browser(origin);
      return { browser, page: await openLoginPage(browser, config, redirectUri) };
    }),
  );
  const results = await Promise.all(pages.map(({ browser, page }, index) => browser.submit(page, 'form[action$="/password"]', { username, password: `wrong-${index}` })));
  return results.map((result) => expectPage(result).status);
}
