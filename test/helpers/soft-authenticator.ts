import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * A software WebAuthn authenticator written from the spec with node:crypto, independent of the
 * library Gatehouse verifies with: ES256 keys, `none` attestation, CBOR encoded here. It makes what
 * a browser would send (registration and assertion responses as JSON) and, unlike a browser, lets a
 * test send hostile ones: another origin or RP ID, no user verification, a chosen signature counter,
 * another user handle, another credential than the one asked for.
 */

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor> | { [key: string]: Cbor };

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

/** RFC 8949 encoding of the few types WebAuthn needs: integers, byte and text strings, maps. */
export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  const entries: Array<[Cbor, Cbor]> = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([key, item]) => [cbor(key), cbor(item)])]);
}

const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();
const b64url = (data: Uint8Array): string => Buffer.from(data).toString('base64url');

/** Authenticator data flags (WebAuthn L3 6.1). */
const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

export interface SoftCredential {
  id: string;
  rpId: string;
  userHandle: string;
  privateKey: KeyObject;
  counter: number;
  backupEligible: boolean;
  backedUp: boolean;
}

export interface CreateOptions {
  origin: string;
  /** default: the options' `rp.id` */
  rpId?: string;
  uv?: boolean;
  backupEligible?: boolean;
  backedUp?: boolean;
  /** the counter the credential starts at (0: it keeps none, as synced passkeys) */
  counter?: number;
  /** registers this existing credential (its ID and key) again instead of making a new one */
  again?: string;
}

export interface AssertionOptions {
  origin: string;
  /** default: the credential's RP ID */
  rpId?: string;
  /** the signature counter to report; default: one more than the last (stays 0 for a credential that keeps none) */
  counter?: number;
  uv?: boolean;
  /** the user handle to return; default the credential's, `null` returns none */
  userHandle?: string | null;
  /** which credential answers; default the first of `allowCredentials` it holds, else the first for the RP ID */
  credentialId?: string;
  /** default: what the credential was created with */
  backedUp?: boolean;
}

function authenticatorData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
}

function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  // EC2 key (kty 2), ES256 (alg -7), P-256 (crv 1), x and y (RFC 9053 7.1.1).
  return cbor(new Map<Cbor, Cbor>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
}

/** A credential as `PublicKeyCredential.toJSON()` gives it (a platform authenticator, no extensions). */
function asJson<R>(id: string, response: R) {
  return { id, rawId: id, type: 'public-key' as const, authenticatorAttachment: 'platform' as const, clientExtensionResults: {}, response };
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  /** `navigator.credentials.create`: a new ES256 credential with `none` attestation. */
  createCredential(options: PublicKeyCredentialCreationOptionsJSON, opts: CreateOptions): RegistrationResponseJSON {
    const existing = this.credentials.find((candidate) => candidate.id === opts.again);
    if (opts.again !== undefined && !existing) throw new Error('the soft authenticator holds no such credential');
    const { privateKey, publicKey } = existing ? { privateKey: existing.privateKey, publicKey: createPublicKey(existing.privateKey) } : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const id = existing ? Buffer.from(existing.id, 'base64url') : randomBytes(32);
    const rpId = opts.rpId ?? options.rp.id ?? new URL(opts.origin).hostname;
    const credential: SoftCredential = {
      id: b64url(id),
      rpId,
      userHandle: options.user.id,
      privateKey,
      counter: opts.counter ?? 0,
      backupEligible: opts.backupEligible ?? false,
      backedUp: opts.backedUp ?? false,
    };
    const length = Buffer.alloc(2);
    length.writeUInt16BE(id.length);
    const attested = Buffer.concat([Buffer.alloc(16), length, id, coseKey(publicKey)]);
    const flags = FLAG.UP | FLAG.AT | (opts.uv === false ? 0 : FLAG.UV) | (credential.backupEligible ? FLAG.BE : 0) | (credential.backedUp ? FLAG.BS : 0);
    const authData = authenticatorData(rpId, flags, credential.counter, attested);
    if (!existing) this.credentials.push(credential);
    return asJson(credential.id, {
      clientDataJSON: b64url(clientData('webauthn.create', options.challenge, opts.origin)),
      attestationObject: b64url(cbor({ fmt: 'none', attStmt: {}, authData })),
      transports: ['internal'],
    });
  }

  /** `navigator.credentials.get`: an assertion signed by one of its credentials. */
  getAssertion(options: PublicKeyCredentialRequestOptionsJSON, opts: AssertionOptions): AuthenticationResponseJSON {
    const allowed = (options.allowCredentials ?? []).map((descriptor) => descriptor.id);
    const credential =
      this.credentials.find((candidate) => candidate.id === opts.credentialId) ??
      (opts.credentialId === undefined ? this.credentials.find((candidate) => (allowed.length > 0 ? allowed.includes(candidate.id) : candidate.rpId === (options.rpId ?? candidate.rpId))) : undefined);
    if (!credential) throw new Error('the soft authenticator holds no matching credential');
    const counter = opts.counter ?? (credential.counter === 0 ? 0 : credential.counter + 1);
    credential.counter = Math.max(credential.counter, counter);
    const backedUp = opts.backedUp ?? credential.backedUp;
    const flags = FLAG.UP | (opts.uv === false ? 0 : FLAG.UV) | (credential.backupEligible ? FLAG.BE : 0) | (backedUp ? FLAG.BS : 0);
    const authData = authenticatorData(opts.rpId ?? credential.rpId, flags, counter);
    const data = clientData('webauthn.get', options.challenge, opts.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(data)]), credential.privateKey);
    const userHandle = opts.userHandle === undefined ? credential.userHandle : opts.userHandle;
    return asJson(credential.id, {
      clientDataJSON: b64url(data),
      authenticatorData: b64url(authData),
      signature: b64url(signature),
      ...(userHandle === null ? {} : { userHandle }),
    });
  }
}
