/**
 * The load generator's HTTP side: keep-alive `node:http` requests, a cookie jar and a form reader.
 * Deliberately leaner than `fetch` + cheerio (test/helpers/browser.ts): on a two-core machine every
 * cycle the generator spends is taken from the server being measured, on both sides alike.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { defaultPath, pathMatches } from '../test/helpers/browser.js';
import { RawGetPool } from './raw-get.js';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** sent as `application/x-www-form-urlencoded` */
  form?: Record<string, string>;
}

/** Keep-alive HTTP/1.1 requests to one origin, at most `maxSockets` at once; bounded by a timeout. */
export class HttpClient {
  readonly #agent: Agent;
  /** for GETs of a fixed document, where only the status matters (`raw-get.ts`) */
  readonly raw = new RawGetPool();

  constructor(
    maxSockets: number,
    private readonly timeoutMs = 10_000,
  ) {
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  request(url: string | URL, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, agent: this.#agent, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms: ${String(url)}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
    this.raw.close();
  }
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/**
 * One browser's cookies: name + Path, path matching, deletion by an expiry in the past. Domain is
 * ignored (one loopback origin per jar), as are Secure and SameSite (plain http, same site).
 */
export class CookieJar {
  readonly #cookies: Cookie[] = [];

  header(url: URL): string {
    return this.#cookies
      .filter((cookie) => pathMatches(url.pathname, cookie.path))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  store(url: URL, headers: IncomingHttpHeaders): void {
    for (const line of headers['set-cookie'] ?? []) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const cookie: Cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: defaultPath(url.pathname) };
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.trim().split('=');
        const lower = key.toLowerCase();
        if (lower === 'path') cookie.path = value;
        else if (lower === 'max-age') expired = Number(value) <= 0;
        else if (lower === 'expires') expired = Date.parse(value) <= Date.now();
      }
      const index = this.#cookies.findIndex((c) => c.name === cookie.name && c.path === cookie.path);
      if (index >= 0) this.#cookies.splice(index, 1);
      if (!expired) this.#cookies.push(cookie);
    }
  }
}

export interface Form {
  action: string;
  /** the form's hidden inputs */
  fields: Record<string, string>;
}

const formPattern = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
const inputPattern = /<input\b([^>]*)>/gi;

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag);
  return match ? decodeEntities(match[1]!) : undefined;
}

function decodeEntities(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[entity]!);
}

/**
 * The first form whose action ends with `actionSuffix`, with its hidden fields, resolved against the
 * page URL. Regular expressions suffice: the pages are our own and the markup is known.
 */
export function findForm(html: string, pageUrl: URL, actionSuffix: string): Form | undefined {
  for (const [, formAttributes = '', inner = ''] of html.matchAll(formPattern)) {
    const action = attribute(formAttributes, 'action');
    if (action === undefined || !action.endsWith(actionSuffix)) continue;
    const fields: Record<string, string> = {};
    for (const [, inputAttributes = ''] of inner.matchAll(inputPattern)) {
      const name = attribute(inputAttributes, 'name');
      if (name && attribute(inputAttributes, 'type') === 'hidden') fields[name] = attribute(inputAttributes, 'value') ?? '';
    }
    return { action: new URL(action, pageUrl).href, fields };
  }
  return undefined;
}
