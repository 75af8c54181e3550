import { createServer, type Server } from 'node:http';
import * as client from 'openid-client';
import { expect } from 'vitest';
import { BOOTSTRAP } from '../admin/helpers.js';
import { Browser, expectPage, type Page } from './browser.js';
import { freePort, startGatehouse, TEST_PASSWORD, type TestGatehouse } from './gatehouse.js';
import { signerOf } from './signed-receiver.js';

/** The operator's webhook secret in these tests. */
export const OPERATOR_SECRET = 'sms-operator-secret-0123456789-abcdefghij';

export interface Text {
  id: string;
  tenant: string;
  to: string;
  text: string;
  purpose: string;
  /** which secret signed it: the operator's, or a tenant's registered with `trust` */
  signedBy: string;
}

/**
 * An SMS gateway as a tenant or operator would run it: an HTTP server on 127.0.0.1 that checks each
 * POST's `gatehouse-signature` (HMAC-SHA256 over `{timestamp}.{raw body}`) against the secrets it
 * trusts, answers 401 to anything else, and keeps the texts it accepted.
 */
export async function smsGateway() {
  const port = await freePort();
  const secrets = new Map<string, string>([['operator', OPERATOR_SECRET]]);
  const texts: Text[] = [];
  const rejected: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const signer = signerOf(secrets, req.headers, body);
      if (!signer) {
        rejected.push(body);
        res.writeHead(401).end();
        return;
      }
      const message = JSON.parse(body) as Omit<Text, 'signedBy'>;
      texts.push({ ...message, signedBy: signer });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/sms`,
    texts,
    rejected,
    trust: (name: string, secret: string) => secrets.set(name, secret),
    forget: (name: string) => secrets.delete(name),
    /** the texts to one number, oldest first */
    to: (phone: string) => texts.filter((text) => text.to === phone),
    /** the code of the last text to `phone` */
    lastCode(phone: string): string {
      const last = texts.filter((text) => text.to === phone).at(-1);
      const code = last?.text.match(/\b(\d{6})\b/)?.[1];
      if (!code) throw new Error(`no code was texted to ${phone}`);
      return code;
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type SmsGateway = Awaited<ReturnType<typeof smsGateway>>;

/** Gatehouse sending texts through the `webhook` sender to `gateway`, with an admin API and a clock the test moves. */
export function startSmsGatehouse(gateway: SmsGateway, clock: () => number): Promise<TestGatehouse> {
  return startGatehouse(
    { bootstrap: BOOTSTRAP, http: { allowPrivateNetworkFetch: true }, messaging: { sms: { sender: 'webhook', webhook: { url: gateway.url, secret: OPERATOR_SECRET } } } },
    { clock },
  );
}

let users = 0;

/**
 * A user of `tenant` with the test password and a phone, enrolled through the service with the
 * code the gateway received (from an address of its own, so it spends no budget of the tests' address).
 */
export async function userWithPhone(gh: TestGatehouse, gateway: SmsGateway, tenant: string, phone: string): Promise<{ username: string; userId: string; factorId: string }> {
  users += 1;
  const username = `sms-user${users}`;
  const user = await gh.app.users.create(tenant, { username, passwordHash: await gh.app.passwords.hash(TEST_PASSWORD) });
  const factorId = await addPhone(gh, gateway, tenant, user._id, phone);
  return { username, userId: user._id, factorId };
}

/** Adds a phone to a user through the service (enrolment code from the gateway). */
export async function addPhone(gh: TestGatehouse, gateway: SmsGateway, tenant: string, userId: string, phone: string): Promise<string> {
  const started = await gh.app.mfa.sms.startEnrollment(tenant, userId, { phone }, { address: `203.0.113.${(users % 250) + 1}` });
  if (!started.ok || !started.enrollmentId) throw new Error(`enrolment refused: ${JSON.stringify(started)}`);
  const confirmed = await gh.app.mfa.sms.confirmEnrollment(tenant, userId, started.enrollmentId, gateway.lastCode(started.phone));
  if (!confirmed.ok) throw new Error(`enrolment not confirmed: ${confirmed.reason}`);
  return confirmed.factor.id;
}

/** An authorization request signed in with the password: the browser, the PKCE verifier, and the page after the password. */
export async function afterPassword(gh: TestGatehouse, rp: client.Configuration, redirectUri: string, username: string) {
  const browser = new Browser(gh.origin);
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(rp, { redirect_uri: redirectUri, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
  const login = expectPage(await browser.navigate(url.href, {}, redirectUri));
  const next = await browser.submit(login, 'form[action$="/password"]', { username, password: TEST_PASSWORD }, redirectUri);
  return { browser, verifier, page: expectPage(next) };
}

/** Presses a "Text a code" / "Resend" button of the SMS step (the first phone's unless `factorId` names another). */
export function sendCode(browser: Browser, page: Page, redirectUri: string, factorId?: string) {
  return browser.submit(page, factorId ? `form:has(input[name="factor"][value="${factorId}"])` : 'form:has(input[name="intent"])', {}, redirectUri);
}

/** Submits a code on the SMS step. */
export function submitSmsCode(browser: Browser, page: Page, code: string, redirectUri: string) {
  return browser.submit(page, 'form:has(input[name="code"])', { code }, redirectUri);
}
