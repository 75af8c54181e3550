import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runSp, type SpLibrary, type SpSettings } from './saml-sp.js';

/** What the SP's ACS page says it accepted (also shown on the page, for a browser test to read). */
export interface SpSignIn {
  ok: boolean;
  error?: string;
  name_id?: string;
  attributes?: Record<string, string[]>;
  authn_context?: string;
  relay_state?: string;
  unsolicited: boolean;
}

/**
 * A service provider's web site for browser tests, on loopback: `GET /login` makes an
 * AuthnRequest with a Python SP library (`test/saml-sp/`) and redirects to the IdP (`?mfa=1` asks
 * for REFEDS MFA, `?relay=` sets the RelayState); `POST /acs` has the same library check the
 * Response (a solicited one against the request it answers, an unsolicited one as unsolicited) and
 * shows what it accepted: the NameID, the attributes and the context, or the error. Nothing of
 * Gatehouse is used to check anything.
 */
export class SpSite {
  readonly #server: Server;
  /** AuthnRequest ids this SP sent and has not seen answered */
  readonly #outstanding = new Set<string>();
  /** every sign-in the ACS saw, in order */
  readonly signIns: SpSignIn[] = [];
  origin = '';

  private constructor(
    private readonly library: SpLibrary,
    private readonly settings: () => SpSettings,
  ) {
    this.#server = createServer((request, response) => {
      this.#handle(request.method ?? 'GET', request.url ?? '/', request).then(
        ({ status, headers, body }) => response.writeHead(status, headers).end(body),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    });
  }

  /** Starts the site; `settings` is read on each request (its `acs_url` must be `{origin}/acs`). */
  static async start(library: SpLibrary, settings: (origin: string) => SpSettings): Promise<SpSite> {
    let site: SpSite | undefined;
    site = new SpSite(library, () => settings(site!.origin));
    await new Promise<void>((resolve) => site!.#server.listen(0, '127.0.0.1', resolve));
    site.origin = `http://127.0.0.1:${(site.#server.address() as AddressInfo).port}`;
    return site;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(method: string, rawUrl: string, request: NodeJS.ReadableStream): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const url = new URL(rawUrl, this.origin);
    if (method === 'GET' && url.pathname === '/login') {
      const extra: Record<string, unknown> = { relay_state: url.searchParams.get('relay') ?? '' };
      if (url.searchParams.get('mfa') === '1') Object.assign(extra, { authn_context: ['https://refeds.org/profile/mfa'], comparison: 'exact' });
      const made = await runSp<{ url: string; request_id: string }>(this.library, 'login', { ...this.settings(), ...extra });
      this.#outstanding.add(made.request_id);
      return { status: 302, headers: { location: made.url }, body: '' };
    }
    if (method === 'POST' && url.pathname === '/acs') {
      let raw = '';
      for await (const chunk of request) raw += chunk.toString();
      const form = new URLSearchParams(raw);
      const response = form.get('SAMLResponse') ?? '';
      const inResponseTo = /InResponseTo="([^"]+)"/.exec(Buffer.from(response, 'base64').toString('utf8'))?.[1];
      // Answers only to requests of ours; an answer to none is checked as unsolicited.
      const solicited = inResponseTo !== undefined && this.#outstanding.delete(inResponseTo);
      const checked = await runSp<Omit<SpSignIn, 'unsolicited' | 'relay_state'>>(this.library, 'acs', {
        ...this.settings(),
        saml_response: response,
        ...(solicited ? { request_id: inResponseTo } : { allow_unsolicited: true }),
      });
      const relayState = form.get('RelayState');
      const signIn: SpSignIn = { ...checked, unsolicited: !solicited, ...(relayState !== null ? { relay_state: relayState } : {}) };
      this.signIns.push(signIn);
      return { status: signIn.ok ? 200 : 403, headers: { 'content-type': 'text/html; charset=utf-8' }, body: page(signIn) };
    }
    // No icon: a browser's 404 for it would be a console error the browser tests count.
    if (url.pathname === '/favicon.ico') return { status: 204, headers: {}, body: '' };
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
  }
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(signIn: SpSignIn): string {
  if (!signIn.ok) return `<!DOCTYPE html><link rel="icon" href="data:,"><title>Refused</title><h1>Sign-in refused</h1><p id="error">${escape(signIn.error ?? '')}</p>`;
  const attributes = Object.entries(signIn.attributes ?? {})
    .map(([name, values]) => `<dt>${escape(name)}</dt><dd>${escape(values.join(', '))}</dd>`)
    .join('');
  return (
    `<!DOCTYPE html><link rel="icon" href="data:,"><title>SP</title><h1>Signed in as <span id="name-id">${escape(signIn.name_id ?? '')}</span></h1>` +
    `<p id="authn-context">${escape(signIn.authn_context ?? '')}</p><p id="relay-state">${escape(signIn.relay_state ?? '')}</p>` +
    `<p id="kind">${signIn.unsolicited ? 'unsolicited' : 'solicited'}</p><dl id="attributes">${attributes}</dl>`
  );
}
