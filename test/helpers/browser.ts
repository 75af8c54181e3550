import * as cheerio from 'cheerio';

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expires?: number;
}

export interface Page {
  url: string;
  status: number;
  html: string;
  $: cheerio.CheerioAPI;
  headers: Headers;
}

/**
 * A minimal browser for flow tests: a cookie jar honouring Path, Max-Age and Expires, manual
 * redirects, and form submission from parsed HTML, so tests go through the real login pages.
 */
export class Browser {
  readonly cookies: StoredCookie[] = [];
  /** every URL visited, in order (redirects included) */
  readonly history: string[] = [];

  /**
   * @param origin the public origin (for relative URLs and the `Origin` header of form posts)
   * @param route picks the server a request really goes to, e.g. round-robin over instances
   */
  constructor(
    private readonly origin: string,
    private readonly route: (url: URL) => URL = (url) => url,
  ) {}

  cookieHeader(url: URL): string {
    const now = Date.now();
    return this.cookies
      .filter((cookie) => (cookie.expires === undefined || cookie.expires > now) && pathMatches(url.pathname, cookie.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  #store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const cookie: StoredCookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), path: defaultPath(url.pathname) };
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=');
        const lower = key.toLowerCase();
        if (lower === 'path') cookie.path = value;
        if (lower === 'max-age') cookie.expires = Date.now() + Number(value) * 1000;
        if (lower === 'expires' && cookie.expires === undefined) cookie.expires = Date.parse(value);
      }
      const index = this.cookies.findIndex((c) => c.name === cookie.name && c.path === cookie.path);
      if (index >= 0) this.cookies.splice(index, 1);
      if (cookie.expires === undefined || cookie.expires > Date.now()) this.cookies.push(cookie);
    }
  }

  /** One request, no redirect following. */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url, this.origin);
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers['cookie'] = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    this.history.push(target.href);
    const response = await fetch(this.route(target), { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.#store(target, response.headers);
    return response;
  }

  /**
   * Requests and follows redirects until a page, or until a Location starts with `stopAt` (the
   * relying party's redirect URI), which is returned without being fetched.
   */
  async navigate(url: string, init: Parameters<Browser['request']>[1] = {}, stopAt?: string): Promise<Page | { redirectedTo: string }> {
    let response = await this.request(url, init);
    let current = new URL(url, this.origin).href;
    for (let hops = 0; hops < 20; hops += 1) {
      const location = response.headers.get('location');
      if (!location || response.status < 300 || response.status >= 400) break;
      const next = new URL(location, current).href;
      if (stopAt && next.startsWith(stopAt)) return { redirectedTo: next };
      current = next;
      response = await this.request(next);
    }
    const html = await response.text();
    return { url: current, status: response.status, html, $: cheerio.load(html), headers: response.headers };
  }

  /** Submits the form matching `selector` on `page` with its hidden fields plus `fields`. */
  async submit(page: Page, selector: string, fields: Record<string, string> = {}, stopAt?: string, extra: { headers?: Record<string, string>; button?: { name: string; value: string } } = {}) {
    const form = page.$(selector).first();
    if (form.length === 0) throw new Error(`no form ${selector} on ${page.url}:\n${page.html.slice(0, 500)}`);
    const data: Record<string, string> = {};
    form.find('input').each((_, element) => {
      const input = page.$(element);
      const name = input.attr('name');
      if (name && input.attr('type') !== 'submit') data[name] = input.attr('value') ?? '';
    });
    if (extra.button) data[extra.button.name] = extra.button.value;
    const action = new URL(form.attr('action') ?? page.url, page.url).href;
    return this.navigate(action, { form: { ...data, ...fields }, headers: { origin: new URL(this.origin).origin, ...extra.headers } }, stopAt);
  }
}

export function isPage(result: Page | { redirectedTo: string }): result is Page {
  return 'html' in result;
}

export function expectPage(result: Page | { redirectedTo: string }): Page {
  if (!isPage(result)) throw new Error(`expected a page, got a redirect to ${result.redirectedTo}`);
  return result;
}

export function expectRedirect(result: Page | { redirectedTo: string }): string {
  if (isPage(result)) throw new Error(`expected a redirect, got ${result.status} at ${result.url}:\n${result.$('main').text().trim().slice(0, 400)}`);
  return result.redirectedTo;
}

/** RFC 6265 5.1.4 path-match. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** RFC 6265 5.1.4 default-path of a request path. */
export function defaultPath(pathname: string): string {
  const slash = pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : pathname.slice(0, slash);
}
