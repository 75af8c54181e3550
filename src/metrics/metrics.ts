import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OperationRecorder, OperationTimer } from '../../adapters/instrument.js';
import { TenantLabels, type TenantLabelMode } from './tenant-labels.js';

/** Why a sign-in failed. Unknown user, wrong password and disabled account are one reason on purpose (see docs/operations.md). */
export type LoginFailure = 'invalid_credentials' | 'throttled' | 'proof_of_work';
/** The limits that refuse requests (docs/operations.md lists each). */
export type Limiter = 'sign_in_address' | 'sign_in_identifier' | 'sign_in_device' | 'mfa_account' | 'mfa_device' | 'sms_send_phone' | 'sms_send_account' | 'sms_send_address' | 'email_send_mailbox' | 'email_send_account' | 'email_send_client' | 'client_auth' | 'admin_auth' | 'device_authorization' | 'device_user_code' | 'sign_up_address';

export interface PasswordLoad {
  active: number;
  waiting: number;
  limit: number;
}

/** Grant types as label values; anything else a client sends is `other`, so it cannot add series. */
const grantTypes = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:openid:params:grant-type:ciba',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:jwt-bearer',
]);
const grantLabel = (value: unknown) => (typeof value === 'string' && grantTypes.has(value) ? value : 'other');
/** The provider's wire error codes (`invalid_grant`...) are a closed list of snake_case words. */
const errorLabel = (value: unknown) => (typeof value === 'string' && /^[a-z_]{1,40}$/.test(value) ? value : 'other');

const latencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'];

interface HttpSeries {
  count: Record<'method' | 'route' | 'status', string>;
  duration: Record<'method' | 'route' | 'status_class', string>;
}

/**
 * The process's Prometheus metrics, with a registry of its own (tests run many Gatehouse instances
 * in one process; prom-client's global registry would mix them). Built once in `createAppContext`
 * and passed down; the instruments are written in Prometheus naming (`gatehouse_*`, base units,
 * `_total` counters). docs/operations.md says what each one means.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly #tenants: TenantLabels;
  readonly #http = new Map<string, HttpSeries>();
  #processMetrics = false;
  #poolSize: () => number = () => 0;
  #passwords: () => PasswordLoad = () => ({ active: 0, waiting: 0, limit: 0 });

  readonly #httpRequests = this.#counter('gatehouse_http_requests_total', 'HTTP requests answered, by method, route template and status code.', ['method', 'route', 'status']);
  readonly #httpDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time from the request to the end of its answer, by method, route template and status class.',
    labelNames: ['method', 'route', 'status_class'],
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly #logins = this.#counter('gatehouse_logins_total', 'Password sign-ins that succeeded.', ['tenant']);
  readonly #loginFailures = this.#counter('gatehouse_login_failures_total', 'Password sign-ins refused, by reason (invalid_credentials, throttled).', ['tenant', 'reason']);
  readonly #tokens = this.#counter('gatehouse_tokens_issued_total', 'Successful token endpoint responses, by grant type.', ['tenant', 'grant_type']);
  readonly #tokenErrors = this.#counter('gatehouse_token_errors_total', 'Token endpoint requests refused, by grant type and OAuth error code.', ['tenant', 'grant_type', 'error']);
  readonly #rateLimited = this.#counter('gatehouse_rate_limit_refusals_total', 'Requests refused by a rate limit (429), by limiter.', ['limiter']);
  readonly #tenantBuilds = this.#counter('gatehouse_tenant_builds_total', 'Tenant contexts built (keys loaded, provider created), by result (built, failed).', ['tenant', 'result']);
  readonly #tenantBuildDuration = new Histogram({
    name: 'gatehouse_tenant_build_duration_seconds',
    help: 'Time to build a tenant context, failed builds included.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #storeDuration = new Histogram({
    name: 'gatehouse_store_operation_duration_seconds',
    help: 'Duration of store and short-lived state operations, by backend and operation, failures included.',
    labelNames: ['backend', 'operation'],
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly #storeErrors = this.#counter('gatehouse_store_operation_errors_total', 'Store and short-lived state operations that failed, by backend and operation.', ['backend', 'operation']);

  /** Backend calls (store, Redis) report here through `adapters/instrument.ts`. */
  readonly operations: OperationRecorder = {
    timer: (backend, operation): OperationTimer => {
      const labels = { backend, operation };
      return {
        observe: (seconds, failed) => {
          this.#storeDuration.observe(labels, seconds);
          if (failed) this.#storeErrors.inc(labels);
        },
      };
    },
  };

  constructor(settings: { readonly tenantLabel: TenantLabelMode; readonly topTenants: number }) {
    this.#tenants = new TenantLabels(settings.tenantLabel, settings.topTenants);
    this.#gauge('gatehouse_tenant_pool_size', 'Tenant contexts built and kept in the pool.', () => this.#poolSize());
    this.#gauge('gatehouse_argon2_in_flight', 'Password hashes being computed now.', () => this.#passwords().active);
    this.#gauge('gatehouse_argon2_queue_length', 'Password hashes waiting for a free slot.', () => this.#passwords().waiting);
    this.#gauge('gatehouse_argon2_concurrency_limit', 'Password hashes allowed at once (password.maxConcurrentHashes).', () => this.#passwords().limit);
  }

  /** Gauges read at scrape time, so watching costs nothing between scrapes. */
  watch(sources: { poolSize?: () => number; passwords?: () => PasswordLoad }): void {
    if (sources.poolSize) this.#poolSize = sources.poolSize;
    if (sources.passwords) this.#passwords = sources.passwords;
  }

  /** prom-client's process metrics (CPU, memory, event loop lag, GC...), for a serving process only. */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** One answered request. Label objects are made once per series, not per request. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.#http.get(key);
    if (!series) {
      const statusClass = statusClasses[Math.floor(status / 100) - 1] ?? 'other';
      series = { count: { method, route, status: String(status) }, duration: { method, route, status_class: statusClass } };
      this.#http.set(key, series);
    }
    this.#httpRequests.inc(series.count);
    this.#httpDuration.observe(series.duration, seconds);
  }

  signedIn(tenant: string): void {
    this.#logins.inc({ tenant: this.#tenants.of(tenant) });
  }

  loginFailed(tenant: string, reason: LoginFailure): void {
    this.#loginFailures.inc({ tenant: this.#tenants.of(tenant), reason });
  }

  tokenIssued(tenant: string, grantType: unknown): void {
    this.#tokens.inc({ tenant: this.#tenants.of(tenant), grant_type: grantLabel(grantType) });
  }

  tokenRefused(tenant: string, grantType: unknown, error: unknown): void {
    this.#tokenErrors.inc({ tenant: this.#tenants.of(tenant), grant_type: grantLabel(grantType), error: errorLabel(error) });
  }

  rateLimited(limiter: Limiter): void {
    this.#rateLimited.inc({ limiter });
  }

  tenantBuild(tenant: string, seconds: number, built: boolean): void {
    this.#tenantBuilds.inc({ tenant: this.#tenants.of(tenant), result: built ? 'built' : 'failed' });
    this.#tenantBuildDuration.observe(seconds);
  }

  /** The text exposition format of every metric. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  #counter<T extends string>(name: string, help: string, labelNames: T[]): Counter<T> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge(name: string, help: string, read: () => number): void {
    const gauge: Gauge = new Gauge({ name, help, registers: [this.registry], collect: () => gauge.set(read()) });
  }
}
