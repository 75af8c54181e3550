import type { Logger } from 'pino';
import { instrumentStore } from '../adapters/instrument.js';
import type { Store } from '../adapters/store.js';
import type { Config } from '../config/schema.js';
import { AttemptWindows } from './authn/attempts.js';
import { KnownDevices } from './authn/known-devices.js';
import { PasswordHasher } from './authn/password.js';
import { Throttle } from './authn/throttle.js';
import { ApiKeyRepository } from './domain/api-keys.js';
import { AuditRepository } from './domain/audit.js';
import { ClientRepository } from './domain/clients.js';
import { KeyRepository } from './domain/keys.js';
import { ResourceRepository } from './domain/resources.js';
import { RoleRepository } from './domain/roles.js';
import { SecretBox } from './domain/secrets.js';
import { TenantRepository } from './domain/tenants.js';
import { UserRepository } from './domain/users.js';
import { Metrics } from './metrics/metrics.js';

/**
 * Everything process-wide, built once in `main` and passed down (no module-global handles).
 * Per-tenant state lives in a `TenantContext` built from this.
 */
export interface AppContext {
  config: Config;
  logger: Logger;
  store: Store;
  box: SecretBox;
  tenants: TenantRepository;
  users: UserRepository;
  clients: ClientRepository;
  resources: ResourceRepository;
  roles: RoleRepository;
  audit: AuditRepository;
  apiKeys: ApiKeyRepository;
  keys: KeyRepository;
  passwords: PasswordHasher;
  /** machine authentications (client secrets, admin tokens) counted per address */
  attempts: AttemptWindows;
  /** failure budgets of the password sign-in */
  throttle: Throttle;
  /** revocation of sign-in device cookies */
  devices: KnownDevices;
  /** this process's Prometheus metrics (a registry of its own, not prom-client's global one) */
  metrics: Metrics;
  /** epoch ms; tests inject one to cross throttle windows without waiting */
  clock: () => number;
  /** facts known only once the server listens */
  runtime: { localOrigin?: string };
}

export function createAppContext(config: Config, logger: Logger, backend: Store, masterKey: Buffer, clock: () => number = Date.now): AppContext {
  const box = new SecretBox(masterKey);
  const metrics = new Metrics(config.metrics);
  // Every repository and the provider's adapter get the timed store, so no caller can bypass it.
  const store = config.metrics.enabled ? instrumentStore(backend, metrics.operations) : backend;
  const passwords = new PasswordHasher(config.password);
  metrics.watch({ passwords: () => passwords.load });
  return {
    config,
    logger,
    store,
    box,
    tenants: new TenantRepository(store),
    users: new UserRepository(store),
    clients: new ClientRepository(store, box),
    resources: new ResourceRepository(store),
    roles: new RoleRepository(store),
    audit: new AuditRepository(store),
    apiKeys: new ApiKeyRepository(store),
    keys: new KeyRepository(store, box),
    passwords,
    attempts: new AttemptWindows(store, clock),
    throttle: new Throttle(store, clock),
    devices: new KnownDevices(store),
    metrics,
    clock,
    runtime: {},
  };
}

/** The issuer of a tenant: `{publicUrl}/t/{tenant}`. */
export function issuerFor(config: Config, tenantId: string): string {
  return `${config.publicUrl}/t/${tenantId}`;
}
