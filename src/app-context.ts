import { hkdfSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeFeed } from '../adapters/change-feed.js';
import { tenantPrefix, type EphemeralStore } from '../adapters/ephemeral.js';
import { StoreEphemeral } from '../adapters/ephemeral-store.js';
import { instrumentEphemeral, instrumentStore } from '../adapters/instrument.js';
import { LocalChangeFeed } from '../adapters/local-change-feed.js';
import { deleteOidcTenant } from '../adapters/oidc-adapter.js';
import type { Store } from '../adapters/store.js';
import type { Config } from '../config/schema.js';
import { AttemptWindows } from './authn/attempts.js';
import { KnownDevices } from './authn/known-devices.js';
import { RecoveryCodeService } from './authn/recovery-codes.js';
import { EmailVerifications } from './authn/email-verification.js';
import { PasswordResets } from './authn/password-resets.js';
import { SmsCodes } from './authn/sms-codes.js';
import { SmsFactorService } from './authn/sms-factors.js';
import { TotpService } from './authn/totp.js';
import { WebAuthnService } from './authn/webauthn.js';
import { PasswordHasher } from './authn/password.js';
import { ProofOfWork } from './authn/proof-of-work.js';
import type { PasswordAcceptanceDeps } from './authn/password-acceptance.js';
import { CommonPasswords } from './authn/common-passwords.js';
import { Throttle } from './authn/throttle.js';
import { BackgroundWork } from './background.js';
import { ApiKeyRepository } from './domain/api-keys.js';
import { AuditRepository } from './domain/audit.js';
import { ClientRepository } from './domain/clients.js';
import { KeyRepository } from './domain/keys.js';
import { MfaFactorRepository } from './domain/mfa-factors.js';
import { ResourceRepository } from './domain/resources.js';
import { RoleRepository } from './domain/roles.js';
import { SamlAppRepository } from './domain/saml-apps.js';
import { SamlKeyRepository } from './domain/saml-keys.js';
import { SecretBox } from './domain/secrets.js';
import type { TenantDeletion } from './domain/tenant-deletion.js';
import { TenantRepository } from './domain/tenants.js';
import { UserRepository } from './domain/users.js';
import { WebAuthnCredentialRepository } from './domain/webauthn-credentials.js';
import { breachRangeApi } from './messaging/breach-range.js';
import { createEmailSender } from './messaging/email-senders.js';
import type { EmailSender } from './messaging/email.js';
import { createMessageSender, webhookPolicy } from './messaging/senders.js';
import type { MessageSender } from './messaging/sender.js';
import { tenantSmsSenders, textSender } from './messaging/tenant-sender.js';
import { Metrics } from './metrics/metrics.js';
import { keyRetention } from './oidc/key-timing.js';
import type { OutboundDispatchers } from './oidc/outbound.js';
import { outboundTrustOf } from './oidc/outbound-trust.js';

/**
 * Everything process-wide, built once in `main` and passed down (no module-global handles).
 * Per-tenant state lives in a `TenantContext` built from this.
 */
export interface AppContext {
  config: Config;
  logger: Logger;
  store: Store;
  /** short-lived state (adapters/ephemeral.ts): Redis when configured, else over the store */
  ephemeral: EphemeralStore;
  /** changes other instances must see (adapters/change-feed.ts): Redis pub/sub when configured, else this process only */
  changes: ChangeFeed;
  box: SecretBox;
  tenants: TenantRepository;
  users: UserRepository;
  clients: ClientRepository;
  resources: ResourceRepository;
  roles: RoleRepository;
  audit: AuditRepository;
  apiKeys: ApiKeyRepository;
  keys: KeyRepository;
  /** SAML service providers of each tenant */
  samlApps: SamlAppRepository;
  /** SAML signing keys and certificates of each tenant (explicit rotation) */
  samlKeys: SamlKeyRepository;
  /** the key of persistent SAML NameIDs (src/saml/name-id.ts), derived from the master key */
  samlPairwiseKey: Buffer;
  passwords: PasswordHasher;
  /** what `acceptablePassword` (authn/password-acceptance.ts) needs: the shipped list, the range API */
  passwordChecks: PasswordAcceptanceDeps;
  /** machine authentications (client secrets, admin tokens) counted per address */
  attempts: AttemptWindows;
  /** failure budgets of the password sign-in */
  throttle: Throttle;
  /** proof-of-work challenges of the forms a tenant protects with them (authn/proof-of-work.ts) */
  proofOfWork: ProofOfWork;
  /** revocation of sign-in device cookies */
  devices: KnownDevices;
  /** second factors: what users hold, and the services that enrol and check them */
  mfa: { factors: MfaFactorRepository; totp: TotpService; recoveryCodes: RecoveryCodeService; webauthn: WebAuthnService; webauthnCredentials: WebAuthnCredentialRepository; sms: SmsFactorService };
  /** outbound messages (SMS codes, CIBA notifications; later e-mail) through the configured senders */
  messages: MessageSender;
  /** e-mail (verification, password reset, notices) through `messaging.email.sender`; `close` ends SMTP connections */
  email: EmailSender & { close?(): void };
  /** proving e-mail addresses (link + code) and password-reset links, in the short-lived store */
  accountEmail: { verifications: EmailVerifications; resets: PasswordResets };
  /** work requests start without waiting for it (CIBA notifications); shutdown waits for it */
  background: BackgroundWork;
  /** every holder of per-tenant data, for deleting a tenant (domain/tenant-deletion.ts) */
  tenantDeletion: TenantDeletion;
  /** this process's Prometheus metrics (a registry of its own, not prom-client's global one) */
  metrics: Metrics;
  /** epoch ms; tests inject one to cross throttle windows without waiting */
  clock: () => number;
  /** dispatchers that trust `http.outboundCaFile` too, for the provider's outbound calls; none without it */
  outboundTrust: (OutboundDispatchers & { close(): Promise<void> }) | undefined;
}

export function createAppContext(
  config: Config,
  logger: Logger,
  backend: Store,
  masterKey: Buffer,
  clock: () => number = Date.now,
  ephemeral?: EphemeralStore,
  changes: ChangeFeed = new LocalChangeFeed(),
): AppContext {
  const box = new SecretBox(masterKey);
  const metrics = new Metrics(config.metrics);
  // Every repository and the provider's adapter get the timed store, so no caller can bypass it.
  const store = config.metrics.enabled ? instrumentStore(backend, metrics.operations) : backend;
  const shortLived = !ephemeral
    ? new StoreEphemeral(store, clock)
    : config.metrics.enabled && ephemeral.kind === 'redis'
      ? instrumentEphemeral(ephemeral, metrics.operations)
      : ephemeral;
  const passwords = new PasswordHasher(config.password);
  metrics.watch({ passwords: () => passwords.load });
  const tenants = new TenantRepository(store);
  const factors = new MfaFactorRepository(store, box);
  const webauthnCredentials = new WebAuthnCredentialRepository(store);
  // Deleting a user deletes their factors and passkey handle (and whatever else registers as a dependent).
  const users = new UserRepository(store, [factors, webauthnCredentials]);
  const audit = new AuditRepository(store);
  const throttle = new Throttle(shortLived, clock);
  const messages = createMessageSender(config, logger, clock);
  // SMS codes are kept as MACs under a key of their own, derived from the master key.
  const smsKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse sms codes', 32));
  const app: Omit<AppContext, 'tenantDeletion'> = {
    config,
    logger,
    store,
    ephemeral: shortLived,
    changes,
    box,
    tenants,
    users,
    clients: new ClientRepository(store, box),
    resources: new ResourceRepository(store),
    roles: new RoleRepository(store),
    audit,
    apiKeys: new ApiKeyRepository(store),
    keys: new KeyRepository(store, box, keyRetention()),
    samlApps: new SamlAppRepository(store),
    samlKeys: new SamlKeyRepository(store, box),
    samlPairwiseKey: Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse saml persistent name ids', 32)),
    passwords,
    passwordChecks: {
      common: new CommonPasswords(),
      range: breachRangeApi({ url: config.password.breachRangeUrl, timeoutMs: config.password.breachRangeTimeoutMs, policy: webhookPolicy(config) }, logger),
      logger,
    },
    attempts: new AttemptWindows(shortLived, clock),
    throttle,
    // Challenges are signed under per-tenant keys derived from a key of their own, never a constant.
    proofOfWork: new ProofOfWork(shortLived, Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse proof of work', 32)), clock),
    devices: new KnownDevices(store),
    mfa: {
      factors,
      totp: new TotpService({ factors, ephemeral: shortLived, box, tenants, users, clock }),
      recoveryCodes: new RecoveryCodeService(factors, clock),
      webauthn: new WebAuthnService({ credentials: webauthnCredentials, users, ephemeral: shortLived, audit, publicUrl: config.publicUrl, clock }),
      webauthnCredentials,
      sms: new SmsFactorService({
        factors,
        ephemeral: shortLived,
        tenants,
        throttle,
        codes: new SmsCodes(shortLived, smsKey, clock),
        sendText: textSender(tenantSmsSenders(config, logger, clock, box, messages)),
      }),
    },
    messages,
    email: createEmailSender(config, logger, clock),
    accountEmail: {
      verifications: new EmailVerifications(shortLived, Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse email codes', 32)), clock),
      resets: new PasswordResets(shortLived, clock),
    },
    background: new BackgroundWork((error) => logger.error({ err: error }, 'a background task failed')),
    metrics,
    clock,
    // Read once here: a missing or wrong file stops the start, naming the setting.
    outboundTrust: outboundTrustOf(config.http.outboundCaFile),
  };
  return { ...app, tenantDeletion: tenantDeletionOf(app) };
}

/**
 * Everything that keeps data of a tenant: a new repository or store of tenant data registers here.
 * The tenant's audit events go with it (the system tenant's record of the deletion stays); its
 * short-lived state (sign-in, second-factor and client-authentication counters, pending TOTP
 * enrolments, console sessions, whatever moves there) is found by the tenant's key prefix.
 */
function tenantDeletionOf(app: Omit<AppContext, 'tenantDeletion'>): TenantDeletion {
  return {
    holders: [
      app.users,
      app.clients,
      app.resources,
      app.roles,
      app.audit,
      app.apiKeys,
      app.devices,
      app.mfa.factors,
      app.mfa.webauthnCredentials,
      app.samlApps,
      app.samlKeys,
      { deleteTenant: (tenant) => deleteOidcTenant(app.store, tenant) },
      { deleteTenant: (tenant) => app.ephemeral.deletePrefix(tenantPrefix(tenant)) },
    ],
    keys: app.keys,
    tenants: app.tenants,
  };
}

/** The issuer of a tenant: `{publicUrl}/t/{tenant}`. */
export function issuerFor(config: Config, tenantId: string): string {
  return `${config.publicUrl}/t/${tenantId}`;
}
