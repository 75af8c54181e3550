import { BlockList, isIP } from 'node:net';

/**
 * The outbound guard's list (`outbound.ts`), used wherever Gatehouse calls or accepts a URL that
 * others chose: the provider's calls through our dispatchers (`outbound-trust.ts`), ping endpoint
 * registration, the SMS senders. Loopback, private and other special-use addresses (the IANA special-purpose registries, as
 * oidc-provider's own guard lists them, plus multicast). Node's BlockList also matches IPv4-mapped
 * IPv6 addresses (`::ffff:127.0.0.1`) against the IPv4 ranges.
 */
const specialUse = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['192.175.48.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) {
  specialUse.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) {
  specialUse.addSubnet(network, prefix, 'ipv6');
}

/** True for an IP address in a special-use range; false for anything else, names included. */
export function isSpecialUse(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && specialUse.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
