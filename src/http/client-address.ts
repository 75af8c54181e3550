import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { parseNetwork } from '../../config/network.js';

/**
 * Which peers may tell us who the client is. Appending proxies (nginx `proxy_add_x_forwarded_for`,
 * HAProxy `option forwardfor`, cloud load balancers) keep whatever `X-Forwarded-For` the client sent
 * and add the address they saw on the right, so only the right-hand entries written by proxies we
 * trust mean anything; the left-most entry is whatever the client chose.
 */
export type ProxyTrust =
  | { readonly kind: 'none' }
  /** exactly this many proxies stand in front: the socket peer and the `hops - 1` entries right of the client's */
  | { readonly kind: 'hops'; readonly hops: number }
  /** peers and entries inside these networks are proxies */
  | { readonly kind: 'networks'; readonly networks: BlockList };

/** The trust the `proxy.*` settings describe (the schema has checked them). */
export function proxyTrust(settings: { readonly hops: number; readonly trustedNetworks: readonly string[] }): ProxyTrust {
  if (settings.trustedNetworks.length > 0) {
    const networks = new BlockList();
    for (const text of settings.trustedNetworks) {
      const network = parseNetwork(text);
      if (!network) throw new Error(`not a network: ${text}`);
      networks.addSubnet(network.address, network.prefix, network.family);
    }
    return { kind: 'networks', networks };
  }
  return settings.hops > 0 ? { kind: 'hops', hops: settings.hops } : { kind: 'none' };
}

/**
 * One `X-Forwarded-For` entry as an address in one spelling per address, or undefined when it is
 * not an address. A port is dropped (some balancers write `1.2.3.4:5678` or `[2001:db8::1]:443`);
 * IPv6 takes its RFC 5952 form and IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket
 * reports for IPv4 peers) becomes IPv4, so one client never counts as two addresses.
 */
export function canonicalAddress(entry: string): string | undefined {
  const text = entry.trim();
  const host = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text)?.[1] ?? /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text)?.[1] ?? text;
  const family = isIP(host);
  if (family === 4) return host;
  // A zone id (`fe80::1%eth0`) names a link on the proxy's host, not a client.
  if (family !== 6 || host.includes('%')) return undefined;
  const v6 = URL.parse(`http://[${host}]/`)?.hostname.slice(1, -1);
  if (v6 === undefined) return undefined;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

function isTrusted(trust: ProxyTrust, address: string, hop: number): boolean {
  if (trust.kind === 'hops') return hop < trust.hops;
  if (trust.kind === 'none') return false;
  return trust.networks.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: starting from the socket peer, step left through `X-Forwarded-For` while
 * the address in hand is a trusted proxy (by position or by network), and stop at the first one
 * that is not. An entry that is not an address stops the walk at the proxy that wrote it, so a
 * malformed value is never taken for anyone's address. When every entry is trusted the left-most
 * one is the furthest we know.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trust: ProxyTrust): string {
  const peerAddress = peer === undefined ? undefined : canonicalAddress(peer);
  // A peer we cannot read cannot be a trusted proxy.
  if (peerAddress === undefined) return peer ?? '';
  let current = peerAddress;
  if (trust.kind === 'none' || !forwardedFor) return current;
  const entries = forwardedFor.split(',');
  for (let hop = 0; isTrusted(trust, current, hop); hop += 1) {
    const entry = entries[entries.length - 1 - hop];
    if (entry === undefined) return current;
    const next = canonicalAddress(entry);
    if (next === undefined) return current;
    current = next;
  }
  return current;
}

/** `clientAddress` of a Node request; the Koa app and the protocol fast path both use this. */
export function clientAddressOf(req: IncomingMessage, trust: ProxyTrust): string {
  const forwarded = req.headers['x-forwarded-for'];
  return clientAddress(req.socket.remoteAddress, Array.isArray(forwarded) ? forwarded.join(',') : forwarded, trust);
}
