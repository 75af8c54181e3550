import { closest } from './similar.js';
import type { Problem } from './problems.js';
import { setPath } from './tree.js';

/** How an environment variable's text becomes a configuration value. */
export type EnvKind = 'string' | 'integer' | 'boolean' | 'list';

/** One row of the environment table: a variable, the dotted config key it sets, and its type. */
export interface EnvVar {
  readonly name: string;
  readonly path: string;
  readonly kind: EnvKind;
  /** A lower-priority variable read when `name` is unset (hosting platforms set plain `PORT`). */
  readonly fallback?: string;
}

/**
 * Every environment variable Gatehouse reads, and the key it sets. Written out rather than derived
 * from key names so that renaming a key can never silently rename a variable in someone's deployment.
 */
export const envVars: readonly EnvVar[] = [
  { name: 'NODE_ENV', path: 'env', kind: 'string' },
  { name: 'GATEHOUSE_PUBLIC_URL', path: 'publicUrl', kind: 'string' },
  { name: 'GATEHOUSE_HOST', path: 'host', kind: 'string' },
  { name: 'GATEHOUSE_PORT', path: 'port', kind: 'integer', fallback: 'PORT' },
  { name: 'GATEHOUSE_TRUST_PROXY', path: 'trustProxy', kind: 'boolean' },
  { name: 'GATEHOUSE_PROXY_HOPS', path: 'proxy.hops', kind: 'integer' },
  { name: 'GATEHOUSE_PROXY_TRUSTED_NETWORKS', path: 'proxy.trustedNetworks', kind: 'list' },
  { name: 'GATEHOUSE_DATA_DIR', path: 'dataDir', kind: 'string' },
  { name: 'GATEHOUSE_STORE', path: 'store.kind', kind: 'string' },
  { name: 'GATEHOUSE_MONGODB_URI', path: 'store.mongodb.uri', kind: 'string' },
  { name: 'GATEHOUSE_MONGODB_DATABASE', path: 'store.mongodb.database', kind: 'string' },
  { name: 'GATEHOUSE_MASTER_KEY', path: 'masterKey', kind: 'string' },
  { name: 'GATEHOUSE_KEYS_AUTO_GENERATE', path: 'keys.autoGenerate', kind: 'boolean' },
  { name: 'GATEHOUSE_JWKS_CACHE_SECONDS', path: 'keys.jwksCacheSeconds', kind: 'integer' },
  { name: 'GATEHOUSE_DEMO_SEED', path: 'demo.seed', kind: 'boolean' },
  { name: 'GATEHOUSE_DEMO_USERNAME', path: 'demo.username', kind: 'string' },
  { name: 'GATEHOUSE_DEMO_PASSWORD', path: 'demo.password', kind: 'string' },
  { name: 'GATEHOUSE_BOOTSTRAP_ADMIN_USERNAME', path: 'bootstrap.adminUsername', kind: 'string' },
  { name: 'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD', path: 'bootstrap.adminPassword', kind: 'string' },
  { name: 'GATEHOUSE_BOOTSTRAP_CLIENT_ID', path: 'bootstrap.clientId', kind: 'string' },
  { name: 'GATEHOUSE_BOOTSTRAP_CLIENT_SECRET', path: 'bootstrap.clientSecret', kind: 'string' },
  { name: 'GATEHOUSE_PASSWORD_MEMORY_COST', path: 'password.memoryCost', kind: 'integer' },
  { name: 'GATEHOUSE_PASSWORD_TIME_COST', path: 'password.timeCost', kind: 'integer' },
  { name: 'GATEHOUSE_PASSWORD_PARALLELISM', path: 'password.parallelism', kind: 'integer' },
  { name: 'GATEHOUSE_PASSWORD_BREACH_RANGE_URL', path: 'password.breachRangeUrl', kind: 'string' },
  { name: 'GATEHOUSE_TENANT_REFRESH_SECONDS', path: 'tenants.refreshSeconds', kind: 'integer' },
  { name: 'GATEHOUSE_TENANT_POOL_SIZE', path: 'tenants.poolSize', kind: 'integer' },
  { name: 'GATEHOUSE_BODY_LIMIT', path: 'http.bodyLimit', kind: 'integer' },
  { name: 'GATEHOUSE_SHUTDOWN_GRACE_MS', path: 'http.shutdownGraceMs', kind: 'integer' },
  { name: 'GATEHOUSE_DRAIN_DELAY_MS', path: 'http.drainDelayMs', kind: 'integer' },
  { name: 'GATEHOUSE_HEADERS_TIMEOUT_MS', path: 'http.headersTimeoutMs', kind: 'integer' },
  { name: 'GATEHOUSE_REQUEST_TIMEOUT_MS', path: 'http.requestTimeoutMs', kind: 'integer' },
  { name: 'GATEHOUSE_MAX_CONNECTIONS', path: 'http.maxConnections', kind: 'integer' },
  { name: 'GATEHOUSE_ALLOW_PRIVATE_NETWORK_FETCH', path: 'http.allowPrivateNetworkFetch', kind: 'boolean' },
  { name: 'GATEHOUSE_OUTBOUND_CA_FILE', path: 'http.outboundCaFile', kind: 'string' },
  { name: 'GATEHOUSE_REDIS_URL', path: 'redis.url', kind: 'string' },
  { name: 'GATEHOUSE_REDIS_SENTINELS', path: 'redis.sentinel.sentinels', kind: 'list' },
  { name: 'GATEHOUSE_REDIS_SENTINEL_NAME', path: 'redis.sentinel.name', kind: 'string' },
  { name: 'GATEHOUSE_REDIS_SENTINEL_PASSWORD', path: 'redis.sentinel.password', kind: 'string' },
  { name: 'GATEHOUSE_REDIS_CLUSTER_NODES', path: 'redis.cluster.nodes', kind: 'list' },
  { name: 'GATEHOUSE_REDIS_TLS_CA_FILE', path: 'redis.tls.caFile', kind: 'string' },
  { name: 'GATEHOUSE_REDIS_TLS_REJECT_UNAUTHORIZED', path: 'redis.tls.rejectUnauthorized', kind: 'boolean' },
  { name: 'GATEHOUSE_REDIS_KEY_PREFIX', path: 'redis.keyPrefix', kind: 'string' },
  { name: 'GATEHOUSE_REDIS_COMMAND_TIMEOUT_MS', path: 'redis.commandTimeoutMs', kind: 'integer' },
  { name: 'GATEHOUSE_REDIS_CONNECT_TIMEOUT_MS', path: 'redis.connectTimeoutMs', kind: 'integer' },
  { name: 'GATEHOUSE_REDIS_REQUIRE_NO_EVICTION', path: 'redis.requireNoEviction', kind: 'boolean' },
  { name: 'GATEHOUSE_SMS_SENDER', path: 'messaging.sms.sender', kind: 'string' },
  { name: 'GATEHOUSE_SMS_TIMEOUT_MS', path: 'messaging.sms.timeoutMs', kind: 'integer' },
  { name: 'GATEHOUSE_SMS_WEBHOOK_URL', path: 'messaging.sms.webhook.url', kind: 'string' },
  { name: 'GATEHOUSE_SMS_WEBHOOK_SECRET', path: 'messaging.sms.webhook.secret', kind: 'string' },
  { name: 'GATEHOUSE_TWILIO_ACCOUNT_SID', path: 'messaging.sms.twilio.accountSid', kind: 'string' },
  { name: 'GATEHOUSE_TWILIO_AUTH_TOKEN', path: 'messaging.sms.twilio.authToken', kind: 'string' },
  { name: 'GATEHOUSE_TWILIO_FROM', path: 'messaging.sms.twilio.from', kind: 'string' },
  { name: 'GATEHOUSE_TWILIO_MESSAGING_SERVICE_SID', path: 'messaging.sms.twilio.messagingServiceSid', kind: 'string' },
  { name: 'GATEHOUSE_TWILIO_BASE_URL', path: 'messaging.sms.twilio.baseUrl', kind: 'string' },
  { name: 'GATEHOUSE_EMAIL_SENDER', path: 'messaging.email.sender', kind: 'string' },
  { name: 'GATEHOUSE_EMAIL_FROM', path: 'messaging.email.from', kind: 'string' },
  { name: 'GATEHOUSE_EMAIL_TIMEOUT_MS', path: 'messaging.email.timeoutMs', kind: 'integer' },
  { name: 'GATEHOUSE_SMTP_HOST', path: 'messaging.email.smtp.host', kind: 'string' },
  { name: 'GATEHOUSE_SMTP_PORT', path: 'messaging.email.smtp.port', kind: 'integer' },
  { name: 'GATEHOUSE_SMTP_SECURE', path: 'messaging.email.smtp.secure', kind: 'boolean' },
  { name: 'GATEHOUSE_SMTP_REQUIRE_TLS', path: 'messaging.email.smtp.requireTls', kind: 'boolean' },
  { name: 'GATEHOUSE_SMTP_REJECT_UNAUTHORIZED', path: 'messaging.email.smtp.rejectUnauthorized', kind: 'boolean' },
  { name: 'GATEHOUSE_SMTP_CA_FILE', path: 'messaging.email.smtp.caFile', kind: 'string' },
  { name: 'GATEHOUSE_SMTP_USER', path: 'messaging.email.smtp.user', kind: 'string' },
  { name: 'GATEHOUSE_SMTP_PASSWORD', path: 'messaging.email.smtp.password', kind: 'string' },
  { name: 'GATEHOUSE_EMAIL_WEBHOOK_URL', path: 'messaging.email.webhook.url', kind: 'string' },
  { name: 'GATEHOUSE_EMAIL_WEBHOOK_SECRET', path: 'messaging.email.webhook.secret', kind: 'string' },
  { name: 'GATEHOUSE_CIBA_SWEEP_INTERVAL_SECONDS', path: 'ciba.sweepIntervalSeconds', kind: 'integer' },
  { name: 'GATEHOUSE_LOG_LEVEL', path: 'log.level', kind: 'string' },
  { name: 'GATEHOUSE_METRICS_ENABLED', path: 'metrics.enabled', kind: 'boolean' },
  { name: 'GATEHOUSE_METRICS_PORT', path: 'metrics.port', kind: 'integer' },
  { name: 'GATEHOUSE_METRICS_HOST', path: 'metrics.host', kind: 'string' },
  { name: 'GATEHOUSE_METRICS_TOKEN', path: 'metrics.token', kind: 'string' },
  { name: 'GATEHOUSE_METRICS_TENANT_LABEL', path: 'metrics.tenantLabel', kind: 'string' },
  { name: 'GATEHOUSE_METRICS_TOP_TENANTS', path: 'metrics.topTenants', kind: 'integer' },
];

/** Names the config file rather than a key, so it is known but not in the table. */
export const configFileVar = 'GATEHOUSE_CONFIG';

const trueWords = new Set(['true', '1', 'yes']);
const falseWords = new Set(['false', '0', 'no']);

/** What the environment contributes: a partial config tree, which variable set each key, and problems. */
export interface EnvLayer {
  readonly values: Record<string, unknown>;
  /** Dotted key -> the variable that supplied it. */
  readonly sources: ReadonlyMap<string, string>;
  readonly problems: Problem[];
  readonly warnings: string[];
}

/**
 * Reads the table's variables from `env`. An empty variable counts as unset, because container
 * tooling often writes `NAME=` for "not configured". Integers that do not look like integers are
 * passed through as text so the schema reports them with the key's allowed range.
 */
export function readEnvironment(env: NodeJS.ProcessEnv): EnvLayer {
  const values: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const problems: Problem[] = [];

  for (const variable of envVars) {
    const [name, raw] = pick(env, variable);
    if (raw === undefined) continue;
    const text = raw.trim();
    let value: unknown = raw;
    if (variable.kind === 'integer') {
      value = /^[+-]?\d+$/.test(text) ? Number(text) : raw;
    } else if (variable.kind === 'list') {
      // Comma-separated; blanks around and between commas are dropped (`a, b,` is two entries).
      value = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
    } else if (variable.kind === 'boolean') {
      const word = text.toLowerCase();
      if (!trueWords.has(word) && !falseWords.has(word)) {
        problems.push({
          path: variable.path,
          source: name,
          message: `expected true/false, 1/0 or yes/no, got ${JSON.stringify(raw)}`,
        });
        continue;
      }
      value = trueWords.has(word);
    }
    setPath(values, variable.path, value);
    sources.set(variable.path, name);
  }

  return { values, sources, problems, warnings: misspellings(env) };
}

function pick(env: NodeJS.ProcessEnv, variable: EnvVar): [string, string | undefined] {
  const primary = env[variable.name];
  if (primary !== undefined && primary !== '') return [variable.name, primary];
  if (variable.fallback !== undefined) {
    const fallback = env[variable.fallback];
    if (fallback !== undefined && fallback !== '') return [variable.fallback, fallback];
  }
  return [variable.name, undefined];
}

/**
 * Unknown `GATEHOUSE_*` variables are allowed (other tooling may share the prefix), but one that is a
 * typo away from a real name almost certainly meant it, and silently ignoring it is how a production
 * setting goes missing.
 */
function misspellings(env: NodeJS.ProcessEnv): string[] {
  const known = [...envVars.map((variable) => variable.name), configFileVar];
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('GATEHOUSE_') || known.includes(name)) continue;
    const suggestion = closest(name, known);
    if (suggestion !== undefined) {
      warnings.push(`${name} is not a Gatehouse setting and is ignored; did you mean ${suggestion}?`);
    }
  }
  return warnings;
}
