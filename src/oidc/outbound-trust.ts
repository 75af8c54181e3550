/**
 * Extra certificate authorities for the provider's outbound calls (`http.outboundCaFile`): CIBA
 * pings, back-channel logout, `jwks_uri`, to endpoints whose certificates a private CA signed
 * (an internal PKI, or a test's throwaway CA). They are added to the system's CAs, never in place of
 * them, and verification stays on: a certificate neither signed is refused as before.
 *
 * The provider's own SSRF-guarded dispatcher cannot be given CAs, so with this file set the calls go
 * through dispatchers of ours: a guarded one that refuses loopback, private and other special-use
 * addresses on the socket actually connected (as the provider's does, so DNS rebinding gains
 * nothing), and an unguarded one for what `outbound.ts` lets through unguarded.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { isSpecialUse } from './special-use.js';
import { SPECIAL_USE_REFUSAL, type OutboundDispatchers } from './outbound.js';

export const OUTBOUND_CA_SETTING = 'http.outboundCaFile';

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * The certificates of a PEM file, each checked to parse. A file with none, or with a private key
 * (which has no business in a file of trusted CAs, and would be a secret left readable), is refused.
 */
export function readCaCertificates(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${OUTBOUND_CA_SETTING}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  const blocks = [...text.matchAll(pemBlock)];
  if (blocks.some((block) => block[1]!.includes('PRIVATE KEY'))) {
    throw new Error(`${OUTBOUND_CA_SETTING}: ${path} contains a private key; give only the CA certificates (PEM "CERTIFICATE" blocks)`);
  }
  const certificates = blocks.filter((block) => block[1] === 'CERTIFICATE').map((block) => block[0]);
  if (certificates.length === 0) throw new Error(`${OUTBOUND_CA_SETTING}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  for (const certificate of certificates) {
    try {
      new X509Certificate(certificate);
    } catch (error) {
      throw new Error(`${OUTBOUND_CA_SETTING}: ${path} holds a certificate that does not parse: ${(error as Error).message}`, { cause: error });
    }
  }
  return certificates;
}

/**
 * An undici Agent as `fetch` takes it. It is the same interface at runtime (the tests call through
 * it on Node 20 and 24), but @types/node describes `fetch` with its own copy of undici's types
 * (undici-types), older than the undici package's, and the two copies do not match structurally.
 */
function asFetchDispatcher(agent: Agent): OutboundDispatchers['guarded'] {
  return agent as unknown as OutboundDispatchers['guarded'];
}

/** Dispatchers that trust the system's CAs and `certificates`; closed at shutdown. */
export function trustingDispatchers(certificates: readonly string[]): OutboundDispatchers & { close(): Promise<void> } {
  const connect = buildConnector({ ca: [...rootCertificates, ...certificates] });
  const guardedConnect: buildConnector.connector = (options, callback) =>
    connect(options, (error, socket) => {
      if (error || !socket) return callback(error ?? new Error('no socket'), null);
      const address = (socket as Socket).remoteAddress;
      if (address === undefined || isSpecialUse(address)) {
        socket.destroy();
        return callback(new Error(SPECIAL_USE_REFUSAL), null);
      }
      callback(null, socket);
    });
  const guarded = new Agent({ connect: guardedConnect });
  const unguarded = new Agent({ connect });
  return {
    guarded: asFetchDispatcher(guarded),
    unguarded: asFetchDispatcher(unguarded),
    async close() {
      await Promise.all([guarded.close(), unguarded.close()]);
    },
  };
}

/** The dispatchers for `http.outboundCaFile`, or undefined when it is not set (the provider's own are used). */
export function outboundTrustOf(caFile: string | undefined): (OutboundDispatchers & { close(): Promise<void> }) | undefined {
  return caFile === undefined ? undefined : trustingDispatchers(readCaCertificates(caFile));
}
