import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What a request for `/metrics` gets: the metrics, a 401, or the 404 every unknown path gets. */
export type MetricsVerdict = 'allowed' | 'unauthorized' | 'hidden';
export type MetricsAccess = (req: IncomingMessage) => MetricsVerdict;

/** A Bearer credential as RFC 6750 spells it; anything longer than a configured token can be is refused unread. */
const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;
const maxHeader = 'Bearer '.length + 512;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Bearer token check in constant time: both sides are hashed first, so neither the length nor the
 * first differing byte of the configured token shows in the time taken.
 */
export function bearerCheck(token: string): (req: IncomingMessage) => boolean {
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization;
    if (header === undefined || header.length > maxHeader) return false;
    const match = bearer.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}

/** Headers a proxy adds: a request carrying one may come from anywhere, whatever the peer is. */
const forwardingHeaders = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'];

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'));
}

/**
 * Who may read `/metrics` on a listener: with a token, whoever presents it; without one, on the
 * metrics listener anyone who reaches it (its `host` decides), and on the main port only a loopback
 * peer sending no forwarding header (a development scrape on the same machine, never a client
 * coming through a proxy on that machine).
 */
export function metricsAccess(options: { token?: string | undefined; loopbackOnly: boolean }): MetricsAccess {
  if (options.token !== undefined) {
    const check = bearerCheck(options.token);
    return (req) => (check(req) ? 'allowed' : 'unauthorized');
  }
  if (!options.loopbackOnly) return () => 'allowed';
  return (req) => (isLoopback(req.socket.remoteAddress) && forwardingHeaders.every((name) => req.headers[name] === undefined) ? 'allowed' : 'hidden');
}

/** The answer to a missing or wrong token: the scheme and realm, nothing about what was wrong. */
export const unauthorizedHeaders = { 'WWW-Authenticate': 'Bearer realm="gatehouse-metrics"', 'Cache-Control': 'no-store' } as const;
