import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import inject from 'light-my-request';
import { handOff } from './handoff.js';
import type { TenantContext } from './tenant-context.js';

/** A provider answer captured once, served from memory. */
interface Captured {
  body: Buffer;
  etag: string;
  /** the headers of a 200 that do not depend on the request, as `writeHead` takes them */
  ok: readonly string[];
  /** the same for a 304: no body, so no Content-Type or Content-Length */
  notModified: readonly string[];
}

/** The tenant's JWKS and discovery answers by path below the tenant (their headers include `Cache-Control`). */
export interface PrecomputedResponses {
  byPath: ReadonlyMap<string, Captured>;
}

/** Paths (below `/t/{tenant}`) answered from memory: oidc-provider's defaults for these routes. */
export const precomputedPaths = ['/jwks', '/.well-known/openid-configuration'] as const;

/**
 * Asks the tenant's provider once, on a synthetic request handed off exactly as a real one is
 * (same URL rewriting and public-URL headers), for its JWKS and discovery document. Neither depends
 * on the request: the provider writes every URL from the public URL that `handOff` states, whatever
 * Host the client sent, so one answer per tenant is the answer for every request until the
 * context is rebuilt (a key state change, an eviction, the refresh interval).
 */
export async function precompute(handle: TenantContext['handle'], tenantId: string, publicUrl: URL, maxAgeSeconds: number): Promise<PrecomputedResponses> {
  const byPath = new Map<string, Captured>();
  const cacheControl = `public, max-age=${maxAgeSeconds}`;
  for (const path of precomputedPaths) {
    const response = await inject((req, res) => void handOff({ handle }, req as IncomingMessage, res as ServerResponse, publicUrl, '127.0.0.1'), { method: 'GET', url: `/t/${tenantId}${path}`, headers: { accept: 'application/json' } });
    if (response.statusCode !== 200) throw new Error(`tenant ${tenantId}: the provider answered ${response.statusCode} for ${path}`);
    const body = response.rawPayload;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const notModified = ['Vary', 'Origin', 'Cache-Control', cacheControl, 'ETag', etag];
    byPath.set(path, { body, etag, notModified, ok: [...notModified, 'Content-Type', String(response.headers['content-type']), 'Content-Length', String(body.length)] });
  }
  return { byPath };
}

/** RFC 9110 13.1.2: If-None-Match compares weakly, so `W/"x"` matches `"x"`; `*` matches any. */
function matches(ifNoneMatch: string, etag: string): boolean {
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** Whether a request is one {@link servePrecomputed} answers (`rest`: the path below the tenant). */
export function isPrecomputed(responses: PrecomputedResponses, rest: string, method: string | undefined): boolean {
  return (method === 'GET' || method === 'HEAD') && responses.byPath.has(rest.split('?', 1)[0]!);
}

/**
 * Answers a GET or HEAD of the JWKS or discovery document from memory, with the headers the
 * provider would add (CORS as its open endpoints do), `Cache-Control` and `ETag`, or 304 when the
 * client has it already. Anything else (another path or method, a trailing slash, OPTIONS) is left
 * to the provider. `leading` are headers the caller has ready as a flat list (the security headers
 * and request id on the fast path): the whole head is handed to `writeHead` at once, which spares
 * Node a validation and a map entry per header on the busiest public documents.
 *
 * @returns false when the request is not one of these
 */
export function servePrecomputed(responses: PrecomputedResponses, rest: string, req: IncomingMessage, res: ServerResponse, leading: readonly string[] = []): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const captured = responses.byPath.get(rest.split('?', 1)[0]!);
  if (!captured) return false;
  const cors = ['Access-Control-Allow-Origin', req.headers.origin || '*'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && matches(ifNoneMatch, captured.etag)) {
    res.writeHead(304, leading.concat(captured.notModified, cors));
    res.end();
    return true;
  }
  res.writeHead(200, leading.concat(captured.ok, cors));
  res.end(req.method === 'HEAD' ? undefined : captured.body);
  return true;
}
