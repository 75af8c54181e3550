import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, envVars, loadConfig, type Config, type LoadConfigOptions } from '../config/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes `content` (an object as JSON, or raw text) to a fresh file and returns its path. */
function configFile(content: unknown): string {
  const file = join(dir, `config-${++fileCount}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Loads with an explicit, otherwise empty environment so the test runner's own variables never leak in. */
function load(options: LoadConfigOptions = {}): Config {
  return loadConfig({ env: {}, ...options });
}

/** Asserts that loading fails with a ConfigError whose message contains every fragment. */
function expectProblems(options: LoadConfigOptions, ...fragments: string[]): ConfigError {
  let caught: unknown;
  try {
    load(options);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.message.startsWith('Invalid configuration:\n')).toBe(true);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

function valueAt(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tree);
}

const masterKey = randomBytes(32).toString('base64');
const production = {
  NODE_ENV: 'production',
  GATEHOUSE_PUBLIC_URL: 'https://id.example.com',
  GATEHOUSE_MASTER_KEY: masterKey,
};

describe('defaults', () => {
  it('starts on a laptop with no configuration at all', () => {
    expect(load()).toEqual({
      env: 'development',
      publicUrl: 'http://localhost:3000',
      host: '0.0.0.0',
      port: 3000,
      proxy: { hops: 0, trustedNetworks: [] },
      dataDir: './data',
      store: { kind: 'nedb', mongodb: { database: 'gatehouse' } },
      keys: { autoGenerate: true, jwksCacheSeconds: 300 },
      demo: { seed: true, username: 'demo', password: 'gatehouse-demo' },
      bootstrap: {},
      password: { memoryCost: 19456, timeCost: 2, parallelism: 1, maxConcurrentHashes: 4, breachRangeUrl: 'https://api.pwnedpasswords.com/range/', breachRangeTimeoutMs: 2000 },
      tenants: { poolSize: 500, refreshSeconds: 300 },
      http: { bodyLimit: 65536, shutdownGraceMs: 10000, drainDelayMs: 5000, headersTimeoutMs: 10000, requestTimeoutMs: 30000, maxConnections: 1000, allowPrivateNetworkFetch: false },
      redis: { tls: { rejectUnauthorized: true }, keyPrefix: 'gatehouse:', commandTimeoutMs: 1000, connectTimeoutMs: 2000, requireNoEviction: true },
      messaging: {
        sms: { sender: 'console', timeoutMs: 5000, webhook: {}, twilio: { baseUrl: 'https://api.twilio.com' } },
        email: { sender: 'console', from: 'no-reply@localhost', timeoutMs: 10000, smtp: { port: 587, secure: false, requireTls: true, rejectUnauthorized: true }, webhook: {} },
      },
      ciba: { sweepIntervalSeconds: 60 },
      log: { level: 'info' },
      metrics: { enabled: true, host: '127.0.0.1', tenantLabel: 'off', topTenants: 10 },
    });
  });

  it('seeds the demo tenant only in development, and generates keys outside production', () => {
    expect(load({ env: { NODE_ENV: 'test' } })).toMatchObject({ keys: { autoGenerate: true }, demo: { seed: false } });
    expect(load({ env: production })).toMatchObject({ keys: { autoGenerate: false }, demo: { seed: false } });
  });

  it('ships an example file that spells out the defaults', () => {
    const fromExample = load({ file: join(root, 'config/gatehouse.example.json') });
    const { store, ...rest } = fromExample;
    const { store: defaultStore, ...defaultRest } = load();
    expect(rest).toEqual(defaultRest);
    expect(store).toEqual({ ...defaultStore, mongodb: { ...defaultStore.mongodb, uri: expect.any(String) } });
  });
});

describe('sources and precedence', () => {
  it('layers defaults < file < environment < overrides', () => {
    const file = configFile({ port: 4000, host: '127.0.0.1', log: { level: 'debug' }, tenants: { poolSize: 7 } });
    const config = load({
      file,
      env: { GATEHOUSE_PORT: '5000', GATEHOUSE_LOG_LEVEL: 'warn' },
      overrides: { port: 6000 },
    });
    expect(config.port).toBe(6000);
    expect(config.log.level).toBe('warn');
    expect(config.host).toBe('127.0.0.1');
    expect(config.tenants.poolSize).toBe(7);
    // Merging is per key: the file's section keeps the keys the environment did not set.
    expect(config.http.bodyLimit).toBe(65536);
  });

  it('finds the file through GATEHOUSE_CONFIG, and an explicit file wins over it', () => {
    const named = configFile({ port: 4001 });
    const explicit = configFile({ port: 4002 });
    expect(load({ env: { GATEHOUSE_CONFIG: named } }).port).toBe(4001);
    expect(load({ env: { GATEHOUSE_CONFIG: named }, file: explicit }).port).toBe(4002);
  });

  it('reads plain PORT only when GATEHOUSE_PORT is unset', () => {
    expect(load({ env: { PORT: '8080' } }).port).toBe(8080);
    expect(load({ env: { PORT: '8080', GATEHOUSE_PORT: '9090' } }).port).toBe(9090);
  });

  it('maps every variable in the table to its key', () => {
    const samples: Record<string, [text: string, value: unknown]> = {
      NODE_ENV: ['test', 'test'],
      GATEHOUSE_PUBLIC_URL: ['https://id.example.com/', 'https://id.example.com'],
      GATEHOUSE_HOST: ['127.0.0.1', '127.0.0.1'],
      GATEHOUSE_PORT: [' 8443 ', 8443],
      GATEHOUSE_TRUST_PROXY: ['NO', false],
      GATEHOUSE_PROXY_HOPS: ['0', 0],
      GATEHOUSE_PROXY_TRUSTED_NETWORKS: [' 10.0.0.0/8, 2001:db8::/32 ,', ['10.0.0.0/8', '2001:db8::/32']],
      GATEHOUSE_DATA_DIR: ['/var/lib/gatehouse', '/var/lib/gatehouse'],
      GATEHOUSE_STORE: ['mongodb', 'mongodb'],
      GATEHOUSE_MONGODB_URI: ['mongodb+srv://cluster.example.net', 'mongodb+srv://cluster.example.net'],
      GATEHOUSE_MONGODB_DATABASE: ['idp', 'idp'],
      GATEHOUSE_MASTER_KEY: [masterKey, masterKey],
      GATEHOUSE_KEYS_AUTO_GENERATE: ['0', false],
      GATEHOUSE_JWKS_CACHE_SECONDS: ['60', 60],
      GATEHOUSE_DEMO_SEED: ['no', false],
      GATEHOUSE_DEMO_USERNAME: ['alice', 'alice'],
      GATEHOUSE_DEMO_PASSWORD: ['correct horse battery', 'correct horse battery'],
      GATEHOUSE_BOOTSTRAP_ADMIN_USERNAME: ['root', 'root'],
      GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ['a long admin password', 'a long admin password'],
      GATEHOUSE_BOOTSTRAP_CLIENT_ID: ['ops-bot', 'ops-bot'],
      GATEHOUSE_BOOTSTRAP_CLIENT_SECRET: ['x'.repeat(40), 'x'.repeat(40)],
      GATEHOUSE_PASSWORD_MEMORY_COST: ['65536', 65536],
      GATEHOUSE_PASSWORD_TIME_COST: ['3', 3],
      GATEHOUSE_PASSWORD_PARALLELISM: ['2', 2],
      GATEHOUSE_PASSWORD_BREACH_RANGE_URL: ['https://range.example.net/range/', 'https://range.example.net/range/'],
      GATEHOUSE_TENANT_POOL_SIZE: ['50', 50],
      GATEHOUSE_BODY_LIMIT: ['2048', 2048],
      GATEHOUSE_SHUTDOWN_GRACE_MS: ['0', 0],
      GATEHOUSE_DRAIN_DELAY_MS: ['250', 250],
      GATEHOUSE_HEADERS_TIMEOUT_MS: ['5000', 5000],
      GATEHOUSE_REQUEST_TIMEOUT_MS: ['20000', 20000],
      GATEHOUSE_MAX_CONNECTIONS: ['200', 200],
      GATEHOUSE_TENANT_REFRESH_SECONDS: ['60', 60],
      GATEHOUSE_ALLOW_PRIVATE_NETWORK_FETCH: ['true', true],
      GATEHOUSE_LOG_LEVEL: ['debug', 'debug'],
      GATEHOUSE_REDIS_URL: ['rediss://app:pw@redis.internal:6380/2', 'rediss://app:pw@redis.internal:6380/2'],
      GATEHOUSE_REDIS_KEY_PREFIX: ['idp:', 'idp:'],
      GATEHOUSE_REDIS_SENTINELS: ['10.0.0.1:26379, sentinel-2.internal:26379', ['10.0.0.1:26379', 'sentinel-2.internal:26379']],
      GATEHOUSE_REDIS_SENTINEL_NAME: ['mymaster', 'mymaster'],
      GATEHOUSE_REDIS_SENTINEL_PASSWORD: ['sentinel secret', 'sentinel secret'],
      GATEHOUSE_REDIS_TLS_CA_FILE: ['/etc/ssl/redis-ca.pem', '/etc/ssl/redis-ca.pem'],
      GATEHOUSE_REDIS_TLS_REJECT_UNAUTHORIZED: ['true', true],
      GATEHOUSE_REDIS_COMMAND_TIMEOUT_MS: ['500', 500],
      GATEHOUSE_REDIS_CONNECT_TIMEOUT_MS: ['3000', 3000],
      GATEHOUSE_REDIS_REQUIRE_NO_EVICTION: ['false', false],
      GATEHOUSE_METRICS_ENABLED: ['false', false],
      GATEHOUSE_METRICS_PORT: ['9464', 9464],
      GATEHOUSE_METRICS_HOST: ['0.0.0.0', '0.0.0.0'],
      GATEHOUSE_METRICS_TOKEN: ['m'.repeat(40), 'm'.repeat(40)],
      GATEHOUSE_METRICS_TENANT_LABEL: ['top', 'top'],
      GATEHOUSE_METRICS_TOP_TENANTS: ['25', 25],
      GATEHOUSE_SMS_SENDER: ['webhook', 'webhook'],
      GATEHOUSE_SMS_TIMEOUT_MS: ['2500', 2500],
      GATEHOUSE_SMS_WEBHOOK_URL: ['https://sms.example.com/send', 'https://sms.example.com/send'],
      GATEHOUSE_SMS_WEBHOOK_SECRET: ['s'.repeat(40), 's'.repeat(40)],
      GATEHOUSE_TWILIO_ACCOUNT_SID: [`AC${'a'.repeat(32)}`, `AC${'a'.repeat(32)}`],
      GATEHOUSE_TWILIO_AUTH_TOKEN: ['twilio token', 'twilio token'],
      GATEHOUSE_TWILIO_FROM: ['+15005550006', '+15005550006'],
      GATEHOUSE_TWILIO_MESSAGING_SERVICE_SID: [`MG${'b'.repeat(32)}`, `MG${'b'.repeat(32)}`],
      GATEHOUSE_TWILIO_BASE_URL: ['https://twilio.internal', 'https://twilio.internal'],
      GATEHOUSE_EMAIL_SENDER: ['smtp', 'smtp'],
      GATEHOUSE_EMAIL_FROM: ['id@example.com', 'id@example.com'],
      GATEHOUSE_EMAIL_TIMEOUT_MS: ['2000', 2000],
      GATEHOUSE_SMTP_HOST: ['smtp.example.com', 'smtp.example.com'],
      GATEHOUSE_SMTP_PORT: ['465', 465],
      GATEHOUSE_SMTP_SECURE: ['true', true],
      GATEHOUSE_SMTP_REQUIRE_TLS: ['false', false],
      GATEHOUSE_SMTP_REJECT_UNAUTHORIZED: ['true', true],
      GATEHOUSE_SMTP_CA_FILE: ['/etc/ssl/smtp-ca.pem', '/etc/ssl/smtp-ca.pem'],
      GATEHOUSE_SMTP_USER: ['mailer', 'mailer'],
      GATEHOUSE_SMTP_PASSWORD: ['smtp-password', 'smtp-password'],
      GATEHOUSE_EMAIL_WEBHOOK_URL: ['https://mail.example.com/send', 'https://mail.example.com/send'],
      GATEHOUSE_EMAIL_WEBHOOK_SECRET: ['y'.repeat(40), 'y'.repeat(40)],
      GATEHOUSE_CIBA_SWEEP_INTERVAL_SECONDS: ['15', 15],
      GATEHOUSE_OUTBOUND_CA_FILE: ['/etc/gatehouse/outbound-ca.pem', '/etc/gatehouse/outbound-ca.pem'],
    };
    // A variable added to the table without a sample here fails, so the table stays tested.
    // Sentinel and Cluster exclude each other, so the Cluster variable is sampled on its own.
    const cluster = load({ env: { GATEHOUSE_REDIS_CLUSTER_NODES: 'redis-1.internal:6379,[2001:db8::7]:6379' } });
    expect(cluster.redis.cluster).toEqual({ nodes: ['redis-1.internal:6379', '[2001:db8::7]:6379'] });
    expect([...Object.keys(samples), 'GATEHOUSE_REDIS_CLUSTER_NODES'].sort()).toEqual(envVars.map((variable) => variable.name).sort());
    const env = Object.fromEntries(Object.entries(samples).map(([name, [text]]) => [name, text]));
    const config = load({ env });
    for (const variable of envVars.filter((entry) => entry.name !== 'GATEHOUSE_REDIS_CLUSTER_NODES')) {
      expect(valueAt(config, variable.path), variable.name).toEqual(samples[variable.name]?.[1]);
    }
  });

  it('treats an empty variable as unset', () => {
    expect(load({ env: { GATEHOUSE_PORT: '', GATEHOUSE_PROXY_HOPS: '', GATEHOUSE_PROXY_TRUSTED_NETWORKS: '' } })).toMatchObject({ port: 3000, proxy: { hops: 0, trustedNetworks: [] } });
  });

  it('warns about a variable one typo away from a real one, and ignores other unknown ones', () => {
    const onWarning = vi.fn();
    load({ env: { GATEHOUSE_PROT: '1', GATEHOUSE_SOMETHING_ELSE: 'x' }, onWarning });
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning.mock.calls[0]?.[0]).toContain('did you mean GATEHOUSE_PORT?');
  });
});

describe('public URL and port', () => {
  const warningsOf = (options: LoadConfigOptions): string[] => {
    const onWarning = vi.fn<(message: string) => void>();
    load({ ...options, onWarning });
    return onWarning.mock.calls.map(([message]) => message);
  };

  it('follows the port outside production when publicUrl is not set', () => {
    expect(load({ env: { GATEHOUSE_PORT: '4500' } }).publicUrl).toBe('http://localhost:4500');
    expect(load({ env: { NODE_ENV: 'test', PORT: '8081' } }).publicUrl).toBe('http://localhost:8081');
    expect(load({ file: configFile({ port: 4600 }) }).publicUrl).toBe('http://localhost:4600');
    expect(warningsOf({ env: { GATEHOUSE_PORT: '4500' } })).toEqual([]);
    // Set explicitly, it wins; production never guesses its public address from a port.
    expect(load({ env: { GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: 'https://id.example.com' } }).publicUrl).toBe('https://id.example.com');
    expectProblems({ env: { ...production, GATEHOUSE_PUBLIC_URL: '', GATEHOUSE_PORT: '4500' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL is not set): is required in production', 'GATEHOUSE_PUBLIC_URL=https://');
  });

  it('refuses port 0 without a publicUrl outside production, as no URL can be derived from it', () => {
    expectProblems({ env: { GATEHOUSE_PORT: '0' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL is not set): is needed when port is 0');
    expect(load({ overrides: { port: 0, publicUrl: 'http://127.0.0.1:4321' } }).port).toBe(0);
  });

  it('warns when a loopback publicUrl names another port than the one Gatehouse listens on, naming both and what to set', () => {
    const [warning, ...more] = warningsOf({ env: { GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: 'http://localhost:3000' } });
    expect(more).toEqual([]);
    expect(warning).toContain('publicUrl (GATEHOUSE_PUBLIC_URL) is http://localhost:3000');
    expect(warning).toContain('port (GATEHOUSE_PORT) is 4500');
    expect(warning).toContain('set GATEHOUSE_PUBLIC_URL=http://localhost:4500');
    // The same on every loopback spelling, with the scheme's default port, and from a file or a default.
    for (const publicUrl of ['http://127.0.0.1:4501', 'http://[::1]:4501', 'http://localhost', 'https://localhost', 'http://id.localhost:4501']) {
      expect(warningsOf({ env: { GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: publicUrl } }), publicUrl).toHaveLength(1);
    }
    expect(warningsOf({ file: configFile({ publicUrl: 'http://localhost:4000' }) })[0]).toContain('port (GATEHOUSE_PORT is not set) is 3000');
    expect(warningsOf({ env: { ...production, GATEHOUSE_PUBLIC_URL: 'http://localhost:3000', GATEHOUSE_PORT: '8080' } })[0]).toContain('publicUrl (GATEHOUSE_PUBLIC_URL) is http://localhost:3000');
  });

  it('does not warn when the ports agree, on a public host (a proxy listens there), or on port 0 (tests)', () => {
    expect(warningsOf({ env: { GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: 'http://localhost:4500/' } })).toEqual([]);
    expect(warningsOf({ env: { GATEHOUSE_PORT: '80', GATEHOUSE_PUBLIC_URL: 'http://localhost' } })).toEqual([]);
    expect(warningsOf({ env: { GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: 'https://id.example.com' } })).toEqual([]);
    expect(warningsOf({ env: { GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: 'http://127.0.0.2:3000' } })).toEqual([]);
    expect(warningsOf({ overrides: { port: 0, publicUrl: 'http://127.0.0.1:4321' } })).toEqual([]);
  });
});

describe('invalid values', () => {
  it('rejects a port that is not a number, or out of range', () => {
    expectProblems({ env: { GATEHOUSE_PORT: 'abc' } }, 'port (GATEHOUSE_PORT): expected a whole number from 0 to 65535, got "abc"');
    expectProblems({ env: { GATEHOUSE_PORT: '70000' } }, 'port (GATEHOUSE_PORT)', 'got 70000');
    expectProblems({ env: { PORT: '3000.5' } }, 'port (PORT)');
  });

  it('rejects a JWKS cache time that is not a whole number of seconds up to a day', () => {
    expectProblems({ env: { GATEHOUSE_JWKS_CACHE_SECONDS: '-1' } }, 'keys.jwksCacheSeconds (GATEHOUSE_JWKS_CACHE_SECONDS)');
    expectProblems({ env: { GATEHOUSE_JWKS_CACHE_SECONDS: '86401' } }, 'keys.jwksCacheSeconds', 'got 86401');
    expectProblems({ env: { GATEHOUSE_JWKS_CACHE_SECONDS: '1.5' } }, 'keys.jwksCacheSeconds');
  });

  it('does not coerce numbers written as strings in the file', () => {
    const file = configFile({ port: '3000' });
    expectProblems({ file }, `port (in ${file})`, 'whole number');
  });

  it('rejects a public URL that is not a URL, not http(s), or has a query, fragment or credentials', () => {
    expectProblems({ env: { GATEHOUSE_PUBLIC_URL: 'id.example.com' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL): expected an absolute URL');
    expectProblems({ env: { GATEHOUSE_PUBLIC_URL: 'ftp://id.example.com' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL)', 'http: or https:');
    expectProblems({ env: { GATEHOUSE_PUBLIC_URL: 'https://id.example.com/?x=1' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL)', 'query or fragment');
    expectProblems({ env: { GATEHOUSE_PUBLIC_URL: 'https://id.example.com/#top' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL)', 'query or fragment');
    expectProblems({ env: { GATEHOUSE_PUBLIC_URL: 'https://a:b@id.example.com' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL)', 'username or password');
  });

  it('parses booleans strictly', () => {
    expectProblems({ env: { GATEHOUSE_TRUST_PROXY: 'maybe' } }, 'trustProxy (GATEHOUSE_TRUST_PROXY): expected true/false, 1/0 or yes/no, got "maybe"');
    expectProblems({ env: { GATEHOUSE_DEMO_SEED: 'on' } }, 'demo.seed (GATEHOUSE_DEMO_SEED)');
  });

  it('rejects an unknown store kind, log level or NODE_ENV', () => {
    expectProblems({ env: { GATEHOUSE_STORE: 'redis' } }, 'store.kind (GATEHOUSE_STORE): expected one of nedb, memory, mongodb, got "redis"');
    expectProblems({ env: { GATEHOUSE_LOG_LEVEL: 'verbose' } }, 'log.level (GATEHOUSE_LOG_LEVEL)');
    expectProblems({ env: { NODE_ENV: 'staging' } }, 'env (NODE_ENV): expected one of development, test, production');
  });

  it('rejects a short master key without echoing it', () => {
    const short = randomBytes(16).toString('base64');
    const error = expectProblems({ env: { GATEHOUSE_MASTER_KEY: short } }, 'masterKey (GATEHOUSE_MASTER_KEY)', '32 random bytes');
    expect(error.message).not.toContain(short);
    // Node's decoder would skip the stray characters and find 32 bytes; the alphabet check must not.
    expectProblems({ env: { GATEHOUSE_MASTER_KEY: `${masterKey.slice(0, 20)}!!${masterKey.slice(20)}` } }, 'masterKey');
  });

  it('accepts a master key in base64url', () => {
    const key = randomBytes(32).toString('base64url');
    expect(load({ env: { GATEHOUSE_MASTER_KEY: key } }).masterKey).toBe(key);
  });

  it('does not echo a MongoDB URI, which may carry a password', () => {
    const error = expectProblems({ env: { GATEHOUSE_MONGODB_URI: 'postgres://user:hunter2@db' } }, 'store.mongodb.uri (GATEHOUSE_MONGODB_URI)');
    expect(error.message).not.toContain('hunter2');
  });

  it('requires a MongoDB URI for the mongodb store, in every environment', () => {
    expectProblems({ env: { GATEHOUSE_STORE: 'mongodb' } }, 'store.mongodb.uri (GATEHOUSE_MONGODB_URI is not set): is required when store.kind is mongodb');
  });

  it('names unknown keys in the file, with a suggestion', () => {
    const file = configFile({ stroe: { kind: 'memory' }, store: { mongo: {} }, banana: 1 });
    const error = expectProblems({ file }, `stroe (in ${file}): unknown key; did you mean store?`, 'store.mongo', 'did you mean store.mongodb?', `banana (in ${file}): unknown key`);
    expect(error.problems).toHaveLength(3);
  });

  it('treats __proto__ in the file as an unknown key, not as a prototype', () => {
    const file = configFile('{ "__proto__": { "port": 1 } }');
    expectProblems({ file }, `__proto__ (in ${file}): unknown key`);
  });

  it('keeps the mode out of the file', () => {
    const file = configFile({ env: 'production' });
    expectProblems({ file }, `env (in ${file}): cannot be set in a config file; set NODE_ENV instead`);
  });

  it('rejects a section that is not an object', () => {
    const file = configFile({ http: 5 });
    expectProblems({ file }, `http (in ${file}): expected an object, got 5`);
  });

  it('names a malformed, non-object or missing file', () => {
    const broken = configFile('{ "port": 3000, }');
    expectProblems({ file: broken }, `config file ${broken}: is not valid JSON`);
    const list = configFile('[1, 2]');
    expectProblems({ file: list }, `config file ${list}: must contain a JSON object`);
    const missing = join(dir, 'missing.json');
    expectProblems({ file: missing }, `config file ${missing}: not found`);
    expectProblems({ env: { GATEHOUSE_CONFIG: missing } }, `config file ${missing} (from GATEHOUSE_CONFIG): not found`);
  });

  it('reports every problem at once', () => {
    const error = expectProblems(
      { env: { GATEHOUSE_PORT: 'x', GATEHOUSE_TRUST_PROXY: 'x', GATEHOUSE_STORE: 'x' } },
      'GATEHOUSE_PORT',
      'GATEHOUSE_TRUST_PROXY',
      'GATEHOUSE_STORE',
    );
    expect(error.problems).toHaveLength(3);
  });
});

describe('production', () => {
  it('accepts a safe production configuration', () => {
    const config = load({ env: { ...production, GATEHOUSE_STORE: 'mongodb', GATEHOUSE_MONGODB_URI: 'mongodb://db:27017' } });
    expect(config).toMatchObject({ env: 'production', publicUrl: 'https://id.example.com', masterKey, store: { kind: 'mongodb' } });
  });

  it.each(['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000'])('allows plain http on loopback: %s', (url) => {
    expect(load({ env: { ...production, GATEHOUSE_PUBLIC_URL: url } }).publicUrl).toBe(url);
  });

  it('refuses the demo login', () => {
    expectProblems({ env: { ...production, GATEHOUSE_DEMO_SEED: 'true' } }, 'demo.seed (GATEHOUSE_DEMO_SEED): is not allowed in production');
  });

  it('refuses generated signing keys and says how to create them', () => {
    const file = configFile({ keys: { autoGenerate: true } });
    expectProblems({ env: production, file }, `keys.autoGenerate (in ${file}): is not allowed in production`, 'gatehouse keys rotate --tenant <id>');
  });

  it('refuses to run without a master key', () => {
    const { GATEHOUSE_MASTER_KEY: _omitted, ...env } = production;
    expectProblems({ env }, 'masterKey (GATEHOUSE_MASTER_KEY is not set): is required in production', 'openssl rand -base64 32');
  });

  it('refuses a plain-http public URL', () => {
    expectProblems({ env: { ...production, GATEHOUSE_PUBLIC_URL: 'http://id.example.com' } }, 'publicUrl (GATEHOUSE_PUBLIC_URL): must be an https: URL in production');
  });

  it('refuses the memory store', () => {
    expectProblems({ env: production, overrides: { store: { kind: 'memory' } } }, 'store.kind (in overrides): must not be memory in production');
  });

  it('applies when production comes from overrides too', () => {
    expectProblems({ overrides: { env: 'production' } }, 'masterKey (GATEHOUSE_MASTER_KEY is not set)');
  });
});

describe('the result', () => {
  it('is frozen all the way down', () => {
    const config = load();
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.store as { kind: string }).kind = 'memory';
    }).toThrow(TypeError);
    expect(Object.isFrozen(config.store.mongodb)).toBe(true);
  });

  it('shares nothing between loads', () => {
    expect(load().store).not.toBe(load().store);
  });
});

describe('the command line', () => {
  /** Runs the CLI; a config that was wrongly accepted would start a server, so it is not waited for forever. */
  async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    return { code, stderr };
  }

  it('exits with code 2 and names the variable when the configuration is invalid', async () => {
    const { code, stderr } = await runCli(['start'], { GATEHOUSE_PORT: 'not-a-port', NODE_ENV: 'development' });
    expect(stderr).toContain('GATEHOUSE_PORT');
    expect(code).toBe(2);
  });

  it('prints the port warning at start-up, on stderr', async () => {
    const env = { NODE_ENV: 'test', GATEHOUSE_STORE: 'memory', GATEHOUSE_DATA_DIR: dir, GATEHOUSE_PORT: '4500', GATEHOUSE_PUBLIC_URL: 'http://localhost:3000' };
    const { code, stderr } = await runCli(['tenant', 'list'], env);
    expect(code).toBe(0);
    expect(stderr).toContain('publicUrl (GATEHOUSE_PUBLIC_URL) is http://localhost:3000');
    expect(stderr).toContain('set GATEHOUSE_PUBLIC_URL=http://localhost:4500');
  });
});

describe('proxy trust and connection limits', () => {
  it('refuses the old trustProxy: true and says what to set instead', () => {
    const error = expectProblems({ env: { GATEHOUSE_TRUST_PROXY: 'true' } }, 'trustProxy (GATEHOUSE_TRUST_PROXY): is no longer supported', 'left-most X-Forwarded-For', 'proxy.hops (GATEHOUSE_PROXY_HOPS)', 'proxy.trustedNetworks');
    expect(error.problems).toHaveLength(1);
    const file = configFile({ trustProxy: true, proxy: { hops: 1 } });
    expectProblems({ file }, `trustProxy (in ${file}): is no longer supported`);
    expect(load({ file: configFile({ trustProxy: false }) }).proxy).toEqual({ hops: 0, trustedNetworks: [] });
  });

  it('accepts a number of hops or a list of networks, not both', () => {
    expect(load({ env: { GATEHOUSE_PROXY_HOPS: '2' } }).proxy).toEqual({ hops: 2, trustedNetworks: [] });
    expect(load({ file: configFile({ proxy: { trustedNetworks: ['10.0.0.0/8', ' 192.0.2.7 ', '::1', 'fd00::/8'] } }) }).proxy.trustedNetworks).toEqual(['10.0.0.0/8', '192.0.2.7', '::1', 'fd00::/8']);
    expectProblems({ env: { GATEHOUSE_PROXY_HOPS: '1', GATEHOUSE_PROXY_TRUSTED_NETWORKS: '10.0.0.0/8' } }, 'proxy', 'set proxy.hops or proxy.trustedNetworks, not both');
    expectProblems({ env: { GATEHOUSE_PROXY_HOPS: '11' } }, 'proxy.hops (GATEHOUSE_PROXY_HOPS): expected a whole number from 0 to 10');
    expectProblems({ env: { GATEHOUSE_PROXY_HOPS: '-1' } }, 'proxy.hops (GATEHOUSE_PROXY_HOPS)');
  });

  it('refuses networks that are not networks, and one that trusts every address', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'example.com', '10.0.0.0/8/8', '10.0.0.0/-1', '2001:db8::/129', 'fe80::1%eth0', '10.0.0.0/']) {
      expectProblems({ env: { GATEHOUSE_PROXY_TRUSTED_NETWORKS: bad } }, 'proxy.trustedNetworks.0 (GATEHOUSE_PROXY_TRUSTED_NETWORKS): expected an IP address or a network');
    }
    expectProblems({ env: { GATEHOUSE_PROXY_TRUSTED_NETWORKS: '10.0.0.0/8,0.0.0.0/0' } }, 'proxy.trustedNetworks.1', 'would trust every address');
    expectProblems({ file: configFile({ proxy: { trustedNetworks: ['::/0'] } }) }, 'would trust every address');
    expectProblems({ file: configFile({ proxy: { trustedNetworks: '10.0.0.0/8' } }) }, 'proxy.trustedNetworks', 'expected a list of networks');
  });

  it('keeps the metrics token long and header-safe without echoing it, and the metrics port apart from the main one', () => {
    const short = 'short-metrics-token';
    const error = expectProblems({ env: { GATEHOUSE_METRICS_TOKEN: short } }, 'metrics.token (GATEHOUSE_METRICS_TOKEN)', 'at least 32 characters');
    expect(error.message).not.toContain(short);
    const spaced = `${'x'.repeat(20)} ${'y'.repeat(20)}`;
    expect(expectProblems({ env: { GATEHOUSE_METRICS_TOKEN: spaced } }, 'metrics.token').message).not.toContain(spaced);
    expectProblems({ env: { GATEHOUSE_METRICS_TOKEN: 'z'.repeat(513) } }, 'metrics.token', 'at most 512');
    expectProblems({ env: { GATEHOUSE_PORT: '4000', GATEHOUSE_METRICS_PORT: '4000' } }, 'metrics.port (GATEHOUSE_METRICS_PORT): must differ from port');
    expect(load({ env: { GATEHOUSE_METRICS_PORT: '0', GATEHOUSE_PORT: '4000', GATEHOUSE_PUBLIC_URL: 'http://localhost:4000' } }).metrics.port).toBe(0);
    expectProblems({ env: { GATEHOUSE_METRICS_TENANT_LABEL: 'some' } }, 'metrics.tenantLabel (GATEHOUSE_METRICS_TENANT_LABEL): expected one of off, all, top');
    expectProblems({ env: { GATEHOUSE_METRICS_TOP_TENANTS: '0' } }, 'metrics.topTenants (GATEHOUSE_METRICS_TOP_TENANTS): expected a whole number from 1 to 1000');
  });

  it('keeps the header timeout within the request timeout', () => {
    expectProblems({ env: { GATEHOUSE_HEADERS_TIMEOUT_MS: '40000' } }, 'http', 'headersTimeoutMs must not be longer than requestTimeoutMs');
    expectProblems({ env: { GATEHOUSE_HEADERS_TIMEOUT_MS: '10' } }, 'http.headersTimeoutMs (GATEHOUSE_HEADERS_TIMEOUT_MS): expected a whole number from 1000');
    expectProblems({ env: { GATEHOUSE_MAX_CONNECTIONS: '0' } }, 'http.maxConnections (GATEHOUSE_MAX_CONNECTIONS)');
  });
});

describe('Redis', () => {
  it('is off unless a URL, Sentinel or Cluster is given', () => {
    const config = load();
    expect(config.redis.url).toBeUndefined();
    expect(config.redis.sentinel).toBeUndefined();
    expect(config.redis.cluster).toBeUndefined();
  });

  it('accepts redis: and rediss: URLs with credentials and a database, and refuses anything else without echoing it', () => {
    expect(load({ env: { GATEHOUSE_REDIS_URL: 'redis://localhost' } }).redis.url).toBe('redis://localhost');
    expect(load({ env: { GATEHOUSE_REDIS_URL: 'rediss://:p%40ss@cache.example.com:6380/15' } }).redis.url).toBe('rediss://:p%40ss@cache.example.com:6380/15');
    for (const url of ['http://user:hunter2-secret@cache:6379', 'cache:6379', 'redis://', 'unix:///tmp/hunter2-secret.sock']) {
      const error = expectProblems({ env: { GATEHOUSE_REDIS_URL: url } }, 'redis.url (GATEHOUSE_REDIS_URL)', 'redis://');
      expect(error.message).not.toContain('hunter2-secret');
    }
    expectProblems({ env: { GATEHOUSE_REDIS_URL: 'redis://user:hunter2-secret@cache:6379/x' } }, 'redis.url', 'database');
    expectProblems({ env: { GATEHOUSE_REDIS_URL: 'redis://cache:6379/0?family=6' } }, 'redis.url', 'query');
    expectProblems({ env: { GATEHOUSE_REDIS_URL: `redis://cache/${'1'.repeat(5)}` } }, 'redis.url', 'database');
  });

  it('takes only an http(s) URL without credentials for the breach range API, and a bounded timeout', () => {
    expectProblems({ env: { GATEHOUSE_PASSWORD_BREACH_RANGE_URL: 'ftp://range.example.net/' } }, 'password.breachRangeUrl', 'http: or https:');
    expectProblems({ env: { GATEHOUSE_PASSWORD_BREACH_RANGE_URL: 'https://user:secret@range.example.net/range/' } }, 'password.breachRangeUrl', 'username or password');
    expectProblems({ env: { GATEHOUSE_PASSWORD_BREACH_RANGE_URL: 'range/' } }, 'password.breachRangeUrl', 'absolute URL');
    expectProblems({ overrides: { password: { breachRangeTimeoutMs: 60000 } } }, 'password.breachRangeTimeoutMs', '100 to 10000');
  });

  it('needs a name and at least one sentinel, written host:port', () => {
    expectProblems({ env: { GATEHOUSE_REDIS_SENTINELS: '10.0.0.1:26379' } }, 'redis.sentinel.name (GATEHOUSE_REDIS_SENTINEL_NAME is not set)');
    expectProblems({ env: { GATEHOUSE_REDIS_SENTINEL_NAME: 'mymaster' } }, 'redis.sentinel.sentinels');
    expectProblems({ env: { GATEHOUSE_REDIS_SENTINEL_NAME: 'mymaster', GATEHOUSE_REDIS_SENTINELS: 'sentinel-1' } }, 'redis.sentinel.sentinels.0', 'host:port');
    expectProblems({ overrides: { redis: { sentinel: { name: 'mymaster', sentinels: [] } } } }, 'redis.sentinel.sentinels', 'at least one');
    expectProblems({ overrides: { redis: { sentinel: { name: 'm', sentinels: ['a:99999'] } } } }, 'redis.sentinel.sentinels.0', 'host:port');
  });

  it('takes Sentinel or Cluster, not both, and Cluster has only database 0', () => {
    expectProblems({ env: { GATEHOUSE_REDIS_SENTINEL_NAME: 'm', GATEHOUSE_REDIS_SENTINELS: 's:26379', GATEHOUSE_REDIS_CLUSTER_NODES: 'r:6379' } }, 'redis', 'sentinel or redis.cluster, not both');
    expectProblems({ env: { GATEHOUSE_REDIS_CLUSTER_NODES: 'r:6379', GATEHOUSE_REDIS_URL: 'redis://:pw@r:6379/3' } }, 'redis', 'database 0');
    expectProblems({ overrides: { redis: { cluster: { nodes: [] } } } }, 'redis.cluster.nodes', 'at least one');
    expectProblems({ env: { GATEHOUSE_REDIS_CLUSTER_NODES: 'r:6379', GATEHOUSE_REDIS_URL: 'not a url' } }, 'redis.url');
  });

  it('keeps the key prefix to characters that are neither hash tags nor glob patterns', () => {
    for (const keyPrefix of ['', '{gatehouse}:', 'gh*', 'a b', 'x'.repeat(65)]) {
      expectProblems({ overrides: { redis: { keyPrefix } } }, 'redis.keyPrefix');
    }
    expect(load({ env: { GATEHOUSE_REDIS_KEY_PREFIX: 'prod.eu-1:' } }).redis.keyPrefix).toBe('prod.eu-1:');
  });

  it('bounds the timeouts', () => {
    expectProblems({ env: { GATEHOUSE_REDIS_COMMAND_TIMEOUT_MS: '0' } }, 'redis.commandTimeoutMs');
    expectProblems({ env: { GATEHOUSE_REDIS_CONNECT_TIMEOUT_MS: '600000' } }, 'redis.connectTimeoutMs');
  });

  it('applies TLS settings only to rediss: URLs', () => {
    expectProblems({ env: { GATEHOUSE_REDIS_URL: 'redis://cache:6379', GATEHOUSE_REDIS_TLS_CA_FILE: '/etc/ca.pem' } }, 'redis.tls', 'rediss://');
  });

  it('never lets production skip certificate checks, and says what to do instead', () => {
    const env = { ...production, GATEHOUSE_REDIS_URL: 'rediss://cache:6380', GATEHOUSE_REDIS_TLS_REJECT_UNAUTHORIZED: 'false' };
    expectProblems({ env }, 'redis.tls.rejectUnauthorized (GATEHOUSE_REDIS_TLS_REJECT_UNAUTHORIZED)', 'not allowed in production', 'redis.tls.caFile');
    expect(load({ env: { ...env, NODE_ENV: 'development' } }).redis.tls.rejectUnauthorized).toBe(false);
  });

  it('does not echo the sentinel password', () => {
    const error = expectProblems({ overrides: { redis: { sentinel: { name: 'm', sentinels: ['s:1'], password: 987654 as unknown as string } } } }, 'redis.sentinel.password');
    expect(error.message).not.toContain('987654');
  });
});
