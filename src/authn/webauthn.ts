import { createHash, randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { COSEALG } from '@simplewebauthn/server/helpers';
import type { EphemeralStore } from '../../adapters/ephemeral.js';
import { mfaAuditEvents, type AuditRepository } from '../domain/audit.js';
import type { FactorSummary } from '../domain/mfa-factors.js';
import type { Tenant } from '../domain/tenants.js';
import type { UserRepository } from '../domain/users.js';
import { MAX_WEBAUTHN_CREDENTIALS, type StoredWebAuthnCredential, type WebAuthnCredentialRepository } from '../domain/webauthn-credentials.js';
import { AppError } from '../errors.js';
import { knownTransports } from './webauthn-json.js';
import { challengeKey, parsePending, registrationIdPattern, type PendingChallenge } from './webauthn-challenges.js';

export type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON };

/**
 * The signature algorithms a new credential may use: EdDSA, ES256, RS256. Pinned rather than the
 * library's default, which on Node 24 adds ML-DSA through an experimental Web Crypto API (and whose
 * signatures exceed the bounds of `webauthn-json.ts`), so every Node version accepts the same keys.
 */
const SUPPORTED_ALGORITHMS = [COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256];

/** How long a ceremony may take, from options to response (seconds): the challenge lives this long. */
export const CEREMONY_SECONDS = 5 * 60;
const DEFAULT_NAME = 'Passkey';
const MAX_NAME_LENGTH = 64;

export type WebAuthnVerdict =
  | { ok: true; userId: string; factorId: string; amr: 'hwk' | 'swk'; userVerified: boolean }
  | { ok: false; reason: 'challenge' | 'unknown_credential' | 'wrong_user' | 'verification' | 'counter' | 'user_verification' };

export interface RelyingParty {
  rpId: string;
  rpName: string;
  origin: string;
}

/** A passkey's name: trimmed plain text, 1-64 characters. */
export function passkeyName(input: string | undefined): string {
  const name = (input ?? DEFAULT_NAME).trim() || DEFAULT_NAME;
  if ([...name].length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    throw new AppError('invalid_request', `A passkey's name is 1-${MAX_NAME_LENGTH} characters of text.`);
  }
  return name;
}

/** What the binding (console session, interaction uid) is stored as: a digest, never the value. */
function digest(bindTo: string): string {
  return createHash('sha256').update(bindTo, 'utf8').digest('base64url');
}

export interface WebAuthnDependencies {
  credentials: WebAuthnCredentialRepository;
  users: UserRepository;
  ephemeral: EphemeralStore;
  audit: AuditRepository;
  /** the public URL every tenant is served under (`config.publicUrl`) */
  publicUrl: string;
  /** epoch ms */
  clock: () => number;
}

/**
 * WebAuthn (passkeys and security keys) for registration and sign-in, per tenant; @simplewebauthn/server
 * does the verification. Challenges are kept server-side in the short-lived state for
 * {@link CEREMONY_SECONDS}, bound to what asked for them, and taken (consumed) before a response is
 * verified, so each is answered once. No HTTP here: the account console, the admin API and the
 * login steps call it.
 */
export class WebAuthnService {
  constructor(private readonly deps: WebAuthnDependencies) {}

  /**
   * The RP ID is the tenant's custom host when it has one, else the public URL's host name: path
   * tenants share it, which is why every lookup is scoped by tenant. The origin is checked exactly.
   */
  relyingParty(tenant: Tenant): RelyingParty {
    const url = new URL(this.deps.publicUrl);
    if (tenant.customHost) url.hostname = tenant.customHost;
    return { rpId: url.hostname, rpName: tenant.displayName, origin: url.origin };
  }

  /** Options for `navigator.credentials.create`: a discoverable credential, the user's own excluded. */
  async startRegistration(tenant: Tenant, userId: string, opts: { bindTo: string }): Promise<{ registrationId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const user = await this.deps.users.findById(tenant._id, userId);
    if (!user) throw new AppError('user_not_found', `There is no user "${userId}" in this tenant.`);
    const held = await this.deps.credentials.ofUser(tenant._id, userId);
    if (held.length >= MAX_WEBAUTHN_CREDENTIALS) throw new AppError('conflict', `A user has at most ${MAX_WEBAUTHN_CREDENTIALS} passkeys; remove one first.`);
    const { rpId, rpName } = this.relyingParty(tenant);
    const handle = await this.deps.credentials.userHandle(tenant._id, userId);
    const displayName = [user.givenName, user.familyName].filter(Boolean).join(' ') || user.username;
    const options = await generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: user.username,
      userDisplayName: displayName,
      userID: Buffer.from(handle, 'base64url'),
      timeout: CEREMONY_SECONDS * 1000,
      attestationType: 'none',
      excludeCredentials: held.map(descriptor),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
    const registrationId = randomBytes(16).toString('base64url');
    const pending: PendingChallenge = { challenge: options.challenge, bound: digest(opts.bindTo), userId, userVerification: false };
    await this.deps.ephemeral.set(challengeKey(tenant._id, 'reg', registrationId), JSON.stringify(pending), { ttlSeconds: CEREMONY_SECONDS });
    return { registrationId, options };
  }

  /**
   * Verifies a new credential and stores it as a factor. The pending registration is taken first,
   * so a response is verified at most once; it must be this user's and bound to `bindTo`.
   */
  async finishRegistration(tenant: Tenant, userId: string, input: { registrationId: string; bindTo: string; response: RegistrationResponseJSON; name?: string }): Promise<FactorSummary> {
    const name = passkeyName(input.name);
    const notFound = () => new AppError('enrollment_not_found', 'There is no pending passkey registration with this id; it may have expired (5 minutes) or been used.');
    if (!registrationIdPattern.test(input.registrationId)) throw notFound();
    const pending = parsePending(await this.deps.ephemeral.take(challengeKey(tenant._id, 'reg', input.registrationId)));
    if (!pending || pending.userId !== userId || pending.bound !== digest(input.bindTo)) throw notFound();
    const failed = () => new AppError('webauthn_failed', 'The passkey could not be verified.');
    const { rpId, origin } = this.relyingParty(tenant);
    let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      result = await verifyRegistrationResponse({ response: input.response, expectedChallenge: pending.challenge, expectedOrigin: origin, expectedRPID: rpId, requireUserVerification: false, supportedAlgorithmIDs: SUPPORTED_ALGORITHMS });
    } catch {
      throw failed();
    }
    if (!result.verified) throw failed();
    const info = result.registrationInfo;
    const handle = await this.deps.credentials.userHandle(tenant._id, userId);
    return this.deps.credentials.create(
      tenant._id,
      userId,
      {
        name,
        credentialId: info.credential.id,
        publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: (info.credential.transports ?? []).filter((item) => (knownTransports as readonly string[]).includes(item)),
        aaguid: info.aaguid,
        backupEligible: info.credentialDeviceType === 'multiDevice',
        backedUp: info.credentialBackedUp,
        deviceType: info.credentialDeviceType,
        hardwareBound: hardwareBound(info.credentialDeviceType),
        userHandle: handle,
      },
      new Date(this.deps.clock()),
    );
  }

  /**
   * Options for `navigator.credentials.get`. With `userId` (a second factor): that user's
   * credentials, user verification preferred. Without (a passkey sign-in): any discoverable
   * credential, user verification required. One pending challenge per `bindTo`; a new one replaces it.
   */
  async startAuthentication(tenant: Tenant, opts: { bindTo: string; userId?: string }): Promise<{ options: PublicKeyCredentialRequestOptionsJSON }> {
    const { rpId } = this.relyingParty(tenant);
    const allow = opts.userId === undefined ? [] : (await this.deps.credentials.ofUser(tenant._id, opts.userId)).map(descriptor);
    const userVerification = opts.userId === undefined ? 'required' : 'preferred';
    const options = await generateAuthenticationOptions({ rpID: rpId, allowCredentials: allow, userVerification, timeout: CEREMONY_SECONDS * 1000 });
    const pending: PendingChallenge = { challenge: options.challenge, bound: digest(opts.bindTo), userVerification: userVerification === 'required', ...(opts.userId !== undefined ? { userId: opts.userId } : {}) };
    await this.deps.ephemeral.set(challengeKey(tenant._id, 'auth', digest(opts.bindTo)), JSON.stringify(pending), { ttlSeconds: CEREMONY_SECONDS });
    return { options };
  }

  /**
   * Verifies an assertion. The challenge is taken first (a replay finds none); the credential is
   * looked up in this tenant only; with `userId` it must be that user's. The signature counter
   * follows WebAuthn L3: a count not greater than the stored one (unless both are 0) is a possible
   * clone, refused and audited; the new count is stored by a conditional write.
   */
  async finishAuthentication(tenant: Tenant, input: { bindTo: string; response: AuthenticationResponseJSON; userId?: string; requireUserVerification: boolean }): Promise<WebAuthnVerdict> {
    const pending = parsePending(await this.deps.ephemeral.take(challengeKey(tenant._id, 'auth', digest(input.bindTo))));
    // A challenge made for one purpose (a second factor of one user, or a passkey sign-in) answers only that one.
    if (!pending || pending.bound !== digest(input.bindTo) || pending.userId !== input.userId) return { ok: false, reason: 'challenge' };
    const credentialId = typeof input.response?.id === 'string' ? input.response.id : '';
    const credential = credentialId && credentialId === input.response.rawId ? await this.deps.credentials.find(tenant._id, credentialId) : null;
    if (!credential) return { ok: false, reason: 'unknown_credential' };
    if (input.userId !== undefined && credential.userId !== input.userId) return { ok: false, reason: 'wrong_user' };

    const verified = await this.#verify(tenant, input.response, pending.challenge, credential);
    if (!verified) return { ok: false, reason: 'verification' };
    // L3 7.2: the user handle, when returned, names the credential's account; a passkey sign-in needs it.
    const handle = input.response.response.userHandle;
    if (handle !== undefined ? handle !== credential.userHandle : input.userId === undefined) return { ok: false, reason: 'verification' };
    // BE is fixed for a credential's life (L3 6.1.3): a change means another authenticator.
    if (verified.credentialDeviceType !== credential.deviceType) return { ok: false, reason: 'verification' };
    if ((input.requireUserVerification || pending.userVerification) && !verified.userVerified) return { ok: false, reason: 'user_verification' };

    const now = new Date(this.deps.clock());
    if (!(await this.deps.credentials.recordUse(tenant._id, credential.factorId, verified.newCounter, verified.credentialBackedUp, now))) {
      await this.deps.audit.record(
        {
          tenant: tenant._id,
          type: mfaAuditEvents.webauthnCounterRegressed,
          actor: { type: 'user', id: credential.userId, tenant: tenant._id },
          target: { type: 'user', id: credential.userId },
          details: { factorId: credential.factorId, storedCounter: credential.counter, receivedCounter: verified.newCounter },
        },
        now,
      );
      return { ok: false, reason: 'counter' };
    }
    return { ok: true, userId: credential.userId, factorId: credential.factorId, amr: credential.hardwareBound ? 'hwk' : 'swk', userVerified: verified.userVerified };
  }

  /**
   * The library's verification, with its own counter check neutralised (stored count given as 0):
   * the counter is judged after the signature, so a forged response is never taken for a clone.
   * User verification is judged by the caller too, to tell it apart. Undefined for any failure.
   */
  async #verify(tenant: Tenant, response: AuthenticationResponseJSON, challenge: string, credential: StoredWebAuthnCredential) {
    const { rpId, origin } = this.relyingParty(tenant);
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: origin,
        expectedRPID: rpId,
        credential: { id: credential.credentialId, publicKey: Buffer.from(credential.publicKey, 'base64url'), counter: 0, transports: credential.transports },
        requireUserVerification: false,
      });
      return result.verified ? result.authenticationInfo : undefined;
    } catch {
      return undefined;
    }
  }
}

function descriptor(credential: StoredWebAuthnCredential): { id: string; transports: string[] } {
  return { id: credential.credentialId, transports: credential.transports };
}

/**
 * `hwk` or `swk` (RFC 8176) for a credential, decided at registration. Without attestation (we ask
 * for none), the flags are what we have: a credential that is not backup eligible (BE = 0) can never
 * leave its authenticator, which is a key held in hardware as far as the authenticator tells; a
 * synced passkey (BE = 1) lives in a cloud keychain and is a software key. docs/mfa.md.
 */
function hardwareBound(deviceType: 'singleDevice' | 'multiDevice'): boolean {
  return deviceType === 'singleDevice';
}
