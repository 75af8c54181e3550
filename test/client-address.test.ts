import { describe, expect, it } from 'vitest';
import { canonicalAddress, clientAddress, proxyTrust } from '../src/http/client-address.js';

const none = proxyTrust({ hops: 0, trustedNetworks: [] });
const oneHop = proxyTrust({ hops: 1, trustedNetworks: [] });
const twoHops = proxyTrust({ hops: 2, trustedNetworks: [] });
const networks = proxyTrust({ hops: 0, trustedNetworks: ['10.0.0.0/8', '2001:db8:feed::/48', '192.0.2.10'] });

describe('clientAddress', () => {
  // [case, socket peer, X-Forwarded-For, trust, expected client address]
  const cases: Array<[string, string | undefined, string | undefined, ReturnType<typeof proxyTrust>, string]> = [
    ['no trust ignores the header', '198.51.100.1', '1.2.3.4', none, '198.51.100.1'],
    ['no header, one hop: the peer', '198.51.100.1', undefined, oneHop, '198.51.100.1'],
    ['one hop: the right-most entry', '10.0.0.2', '203.0.113.9', oneHop, '203.0.113.9'],
    ['one hop: a spoofed left-most entry is skipped', '10.0.0.2', '1.2.3.4, 203.0.113.9', oneHop, '203.0.113.9'],
    ['two hops: right-most minus one', '10.0.0.3', '1.2.3.4, 203.0.113.9, 10.0.0.2', twoHops, '203.0.113.9'],
    ['two hops, one entry: the left-most is as far as we know', '10.0.0.3', '203.0.113.9', twoHops, '203.0.113.9'],
    ['spaces and empty header', '10.0.0.2', '', oneHop, '10.0.0.2'],
    ['one hop: a malformed right-most entry leaves the proxy', '10.0.0.2', '1.2.3.4, unknown', oneHop, '10.0.0.2'],
    ['one hop: an empty right-most entry leaves the proxy', '10.0.0.2', '1.2.3.4,', oneHop, '10.0.0.2'],
    ['one hop: an out-of-range octet is not an address', '10.0.0.2', '256.1.1.1', oneHop, '10.0.0.2'],
    ['one hop: short or octal-looking IPv4 forms are refused', '10.0.0.2', '127.1', oneHop, '10.0.0.2'],
    ['one hop: an IPv4 entry with a port', '10.0.0.2', '203.0.113.9:51234', oneHop, '203.0.113.9'],
    ['one hop: a bracketed IPv6 entry with a port', '10.0.0.2', '[2001:DB8::1]:443', oneHop, '2001:db8::1'],
    ['one hop: IPv6 in its long form becomes RFC 5952', '10.0.0.2', '2001:0db8:0000:0000:0000:0000:0000:0001', oneHop, '2001:db8::1'],
    ['one hop: an IPv4-mapped entry is IPv4', '10.0.0.2', '::ffff:203.0.113.9', oneHop, '203.0.113.9'],
    ['one hop: an IPv4-mapped entry in hex is IPv4', '10.0.0.2', '::FFFF:cb00:7109', oneHop, '203.0.113.9'],
    ['one hop: a zone id is not a client', '10.0.0.2', 'fe80::1%eth0', oneHop, '10.0.0.2'],
    ['a mapped peer without trust is IPv4', '::ffff:198.51.100.1', '1.2.3.4', none, '198.51.100.1'],
    ['networks: an untrusted peer is the client, whatever it sends', '198.51.100.1', '10.0.0.1, 1.2.3.4', networks, '198.51.100.1'],
    ['networks: a trusted peer names the client', '10.1.2.3', '1.2.3.4, 203.0.113.9', networks, '203.0.113.9'],
    ['networks: trusted proxies on the right are skipped', '10.1.2.3', '1.2.3.4, 203.0.113.9, 192.0.2.10, 10.9.9.9', networks, '203.0.113.9'],
    ['networks: a mapped peer matches an IPv4 network', '::ffff:10.1.2.3', '203.0.113.9', networks, '203.0.113.9'],
    ['networks: an IPv6 peer matches an IPv6 network', '2001:db8:feed:1::5', '2001:db8:cafe::7', networks, '2001:db8:cafe::7'],
    ['networks: an IPv6 peer outside the network is the client', '2001:db8:beef::5', '203.0.113.9', networks, '2001:db8:beef::5'],
    ['networks: a single trusted address', '192.0.2.10', '203.0.113.9', networks, '203.0.113.9'],
    ['networks: a neighbour of the single address is not trusted', '192.0.2.11', '203.0.113.9', networks, '192.0.2.11'],
    ['networks: every entry trusted gives the left-most', '10.1.2.3', '10.4.4.4, 10.5.5.5', networks, '10.4.4.4'],
    ['networks: a malformed entry stops at the proxy that wrote it', '10.1.2.3', '203.0.113.9, not-an-ip', networks, '10.1.2.3'],
    ['networks: a malformed entry behind a trusted hop', '10.1.2.3', 'garbage, 10.5.5.5', networks, '10.5.5.5'],
    ['no socket address (a destroyed socket)', undefined, '1.2.3.4', oneHop, ''],
  ];

  it.each(cases)('%s', (_name, peer, header, trust, expected) => {
    expect(clientAddress(peer, header, trust)).toBe(expected);
  });

  it('survives hostile headers without throwing', () => {
    const hostile = ['a'.repeat(16_000), ','.repeat(8_000), '[', '[]:1', '[::1', '::ffff:', '1.2.3.4:99999999', '\u0000', '%', '1.2.3.4/8', `${'1.2.3.4, '.repeat(2000)}x`];
    for (const header of hostile) {
      for (const trust of [oneHop, twoHops, networks]) expect(() => clientAddress('10.0.0.2', header, trust)).not.toThrow();
    }
  });
});

describe('canonicalAddress', () => {
  it('gives one spelling per address and refuses what is not one', () => {
    expect(canonicalAddress(' 203.0.113.9 ')).toBe('203.0.113.9');
    expect(canonicalAddress('::1')).toBe('::1');
    expect(canonicalAddress('[::1]')).toBe('::1');
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    for (const bad of ['', 'localhost', '1.2.3', '01.2.3.4', '1.2.3.4.5', '[1.2.3.4]:80x', 'fe80::1%lo', '::ffff:1.2.3.4:80']) expect(canonicalAddress(bad)).toBeUndefined();
  });
});
