import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { tenantKey, type EphemeralStore } from '../../adapters/ephemeral.js';
import type { FactorSummary, MfaFactorRepository } from '../domain/mfa-factors.js';
import type { SecretBox } from '../domain/secrets.js';
import type { TenantRepository } from '../domain/tenants.js';
import type { User, UserRepository } from '../domain/users.js';
import { AppError } from '../errors.js';

/**
 * RFC 6238 as every authenticator app implements it: HMAC-SHA-1, 6 digits, 30-second steps. Passed
 * to otplib on every call (never set library-wide), so nothing else can change them.
 */
export const totpSettings = { algorithm: 'sha1', digits: 6, period: 30 } as const;

/**
 * Accepted window, in seconds before now: the current step and the one before it (RFC 6238 5.2
 * allows one step back for transmission delay), none ahead; a phone clock running a step fast is
 * rare, and each extra step doubles the chance of a guess.
 */
const WINDOW_BACK_SECONDS = totpSettings.period;

/** 160 bits, RFC 4226's recommended secret length (and the least the issue allows). */
const SECRET_BYTES = 20;
/** A pending enrolment lives this long (seconds): time to scan the code and type one. */
export const ENROLLMENT_TTL_SECONDS = 10 * 60;
/** Authenticators per user: each verification checks them all, so they are bounded. */
export const MAX_TOTP_FACTORS = 10;
const DEFAULT_NAME = 'Authenticator app';
const MAX_NAME_LENGTH = 64;

type Digits = NonNullable<Parameters<typeof verify>[0]['digits']>;

/** A typed code without spaces, or undefined when it cannot be a code (wrong length, not digits). */
export function normaliseTotpCode(input: string): string | undefined {
  if (input.length > 32) return undefined;
  const code = input.replace(/\s+/g, '');
  return /^[0-9]{6}$/.test(code) ? code : undefined;
}

/**
 * The time step whose code `code` is, within the accepted window at `nowMs` and later than `after`
 * (the last step accepted), or undefined. `digits` is for RFC 6238's 8-digit test vectors.
 */
export async function acceptedTimeStep(secret: string | Uint8Array, code: string, nowMs: number, options: { after?: number; digits?: Digits } = {}): Promise<number | undefined> {
  const result = await verify({
    ...totpSettings,
    digits: options.digits ?? totpSettings.digits,
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: [WINDOW_BACK_SECONDS, 0],
    ...(options.after !== undefined ? { afterTimeStep: options.after } : {}),
  });
  // The TOTP result carries the matched step (otplib's result type also covers HOTP, which has none).
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/** A pending enrolment as kept in the short-lived state: the secret sealed, bound to the enrolment. */
interface PendingEnrollment {
  name: string;
  secret: string;
}

function enrollmentKey(tenant: string, userId: string, enrollmentId: string): string {
  return tenantKey(tenant, 'mfa', 'enrol', userId, enrollmentId);
}

function enrollmentPurpose(tenant: string, userId: string, enrollmentId: string): string {
  return `mfa-enrol:${tenant}:${userId}:${enrollmentId}`;
}

const enrollmentIdPattern = /^[A-Za-z0-9_-]{22}$/;

/** An authenticator's name: trimmed plain text, 1-64 characters. */
function factorName(input: string | undefined): string {
  const name = (input ?? DEFAULT_NAME).trim();
  if (name.length === 0 || [...name].length > MAX_NAME_LENGTH || /\p{Cc}/u.test(name)) {
    throw new AppError('invalid_request', `An authenticator's name is 1-${MAX_NAME_LENGTH} characters of text.`);
  }
  return name;
}

/** An enrolment as shown to the user: the secret as text, the `otpauth://` URI and its QR code (a PNG data URL). */
export interface TotpEnrollment {
  enrollmentId: string;
  secret: string;
  uri: string;
  qrCode: string;
}

export interface TotpDependencies {
  factors: MfaFactorRepository;
  ephemeral: EphemeralStore;
  box: SecretBox;
  tenants: TenantRepository;
  users: UserRepository;
  /** epoch ms */
  clock: () => number;
}

/**
 * Authenticator apps (RFC 6238): enrolment in two steps (a pending secret, then a code that proves
 * the app has it) and verification that accepts each code once. No HTTP here: the admin API, the
 * login steps and the account console call it. Wrong codes are throttled by the callers
 * (`mfa-throttle.ts`).
 */
export class TotpService {
  constructor(private readonly deps: TotpDependencies) {}

  /**
   * Starts an enrolment: a new secret kept (sealed) for {@link ENROLLMENT_TTL_SECONDS} under a random
   * id, shown once as text, as an `otpauth://` URI (issuer: the tenant's display name) and as a QR
   * code rendered here (no image service sees the secret).
   */
  async startEnrollment(tenant: string, userId: string, name?: string): Promise<TotpEnrollment> {
    const label = factorName(name);
    const user = await this.deps.users.findById(tenant, userId);
    if (!user) throw new AppError('user_not_found', `There is no user "${userId}" in this tenant.`);
    if ((await this.deps.factors.countTotp(tenant, userId)) >= MAX_TOTP_FACTORS) {
      throw new AppError('conflict', `A user has at most ${MAX_TOTP_FACTORS} authenticator apps; remove one first.`);
    }
    const secret = generateSecret({ length: SECRET_BYTES });
    const enrollmentId = randomBytes(16).toString('base64url');
    const pending: PendingEnrollment = { name: label, secret: this.deps.box.seal(secret, enrollmentPurpose(tenant, userId, enrollmentId)) };
    await this.deps.ephemeral.set(enrollmentKey(tenant, userId, enrollmentId), JSON.stringify(pending), { ttlSeconds: ENROLLMENT_TTL_SECONDS });
    return this.#present(tenant, user, enrollmentId, secret);
  }

  /**
   * A pending enrolment shown again (after a wrong code, or a reload), so its secret need not be
   * kept anywhere but sealed in the enrolment; undefined once it expired or was confirmed.
   */
  async pendingEnrollment(tenant: string, userId: string, enrollmentId: string): Promise<TotpEnrollment | undefined> {
    if (!enrollmentIdPattern.test(enrollmentId)) return undefined;
    const raw = await this.deps.ephemeral.get(enrollmentKey(tenant, userId, enrollmentId));
    const user = raw === undefined ? null : await this.deps.users.findById(tenant, userId);
    if (raw === undefined || !user) return undefined;
    const pending = JSON.parse(raw) as PendingEnrollment;
    return this.#present(tenant, user, enrollmentId, this.deps.box.open(pending.secret, enrollmentPurpose(tenant, userId, enrollmentId)));
  }

  /** The secret as text, as an `otpauth://` URI (issuer: the tenant's display name) and as a QR code. */
  async #present(tenant: string, user: Pick<User, 'email' | 'username'>, enrollmentId: string, secret: string): Promise<TotpEnrollment> {
    const issuer = (await this.deps.tenants.find(tenant))?.displayName ?? tenant;
    const uri = generateURI({ ...totpSettings, issuer, label: user.email ?? user.username, secret });
    const qrCode = await QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2 });
    return { enrollmentId, secret, uri, qrCode };
  }

  /**
   * Confirms an enrolment with a code from the app: the factor exists from here on. A wrong code
   * leaves the enrolment pending (a typo does not cost a new scan); the enrolment is then taken, so
   * of parallel confirmations one creates the factor. The confirming code's step is recorded, so
   * that code does not sign in afterwards.
   */
  async confirmEnrollment(tenant: string, userId: string, enrollmentId: string, code: string): Promise<FactorSummary> {
    const notFound = () => new AppError('enrollment_not_found', 'There is no pending enrolment with this id for this user; it may have expired (10 minutes) or been confirmed.');
    if (!enrollmentIdPattern.test(enrollmentId)) throw notFound();
    const key = enrollmentKey(tenant, userId, enrollmentId);
    const raw = await this.deps.ephemeral.get(key);
    if (raw === undefined) throw notFound();
    const pending = JSON.parse(raw) as PendingEnrollment;
    const secret = this.deps.box.open(pending.secret, enrollmentPurpose(tenant, userId, enrollmentId));
    const typed = normaliseTotpCode(code);
    const step = typed === undefined ? undefined : await acceptedTimeStep(secret, typed, this.deps.clock());
    if (step === undefined) throw new AppError('invalid_totp_code', 'The code is not the current one of this authenticator.');
    if ((await this.deps.ephemeral.take(key)) === undefined) throw notFound();
    return this.deps.factors.createTotp(tenant, userId, { name: pending.name, secret, lastTimeStep: step }, new Date(this.deps.clock()));
  }

  /**
   * Checks a code against the user's authenticators. A code is accepted once: the factor's last
   * accepted step moves forward by a conditional write, so a replay, or the same code in parallel
   * requests, succeeds at most once. Updates the factor's `lastUsedAt`.
   */
  async verify(tenant: string, userId: string, code: string): Promise<{ ok: true; factorId: string } | { ok: false }> {
    const typed = normaliseTotpCode(code);
    if (typed === undefined) return { ok: false };
    const now = this.deps.clock();
    for (const factor of await this.deps.factors.totpSecrets(tenant, userId)) {
      const step = await acceptedTimeStep(factor.secret, typed, now, factor.lastTimeStep !== undefined ? { after: factor.lastTimeStep } : {});
      if (step !== undefined && (await this.deps.factors.advanceTimeStep(tenant, userId, factor.id, step, new Date(now)))) return { ok: true, factorId: factor.id };
    }
    return { ok: false };
  }
}
