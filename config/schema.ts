import { z } from 'zod';
import { parseNetwork } from './network.js';

/**
 * The one configuration schema. Every key has a default that works for `npm start` on a laptop;
 * `docs/configuration.md` documents each key, its environment variable and its default, and
 * `config/load.ts` refuses the unsafe ones in production.
 *
 * Error messages are written for operators: `load.ts` prints them after the key and where the value
 * came from, so they read as "port (GATEHOUSE_PORT): expected a whole number from 0 to 65535".
 * Objects use `prefault({})` rather than `default({...})`: zod 4 returns a `default` value as-is
 * without parsing it, which would skip the inner defaults and share one object between loads.
 */

/** An integer within bounds; one message for every way it can be wrong (type, fraction, range). */
function wholeNumber(min: number, max: number) {
  const error = `expected a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.join(', ')}` });
}

const flag = () => z.boolean({ error: 'expected true or false' });

const nonEmpty = () => z.string({ error: 'expected a string' }).min(1, { error: 'must not be empty' });

/**
 * The public URL is the prefix of every issuer, so anything that would make issuers ambiguous
 * (query, fragment, credentials) is refused. A trailing slash is dropped so `${publicUrl}/t/x` is exact.
 * Written as one transform because zod runs every check even after `url()` fails, and `new URL`
 * throws on the input that failed it.
 */
const publicUrl = z.string({ error: 'expected a URL' }).transform((value, ctx) => {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message, input: value });
    return z.NEVER;
  };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('expected an absolute URL such as https://id.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('must be an http: or https: URL');
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return fail('must not have a query or fragment');
  }
  if (url.username || url.password) return fail('must not contain a username or password');
  // Tenants are served at /t/{tenant} from the root; a path prefix would need every route mounted under it.
  if (url.pathname !== '/' && url.pathname !== '') return fail('must not have a path (Gatehouse serves tenants at /t/{tenant} from the root)');
  return value.replace(/\/+$/, '');
});

/**
 * A trusted proxy network. A /0 is refused: trusting every address would let every client write
 * its own address into X-Forwarded-For, which is the mistake these settings exist to avoid.
 */
const trustedNetwork = z.string({ error: 'expected a string' }).transform((value, ctx) => {
  const network = parseNetwork(value);
  const message =
    network === undefined
      ? 'expected an IP address or a network such as 10.0.0.0/8 or 2001:db8::/32'
      : network.prefix === 0
        ? 'would trust every address, so every client could choose its own; list only the networks your proxies connect from'
        : undefined;
  if (message === undefined) return value.trim();
  ctx.addIssue({ code: 'custom', message, input: value });
  return z.NEVER;
});

/**
 * Where Redis is: `redis://` or `rediss://` (TLS), credentials and database included. Its value is a
 * secret (a password), so messages never repeat it. Options go into `redis.*` keys, not the query.
 */
const redisUrl = z.string({ error: 'expected a string' }).superRefine((value, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message, input: value });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('expected a redis:// or rediss:// URL such as redis://redis.internal:6379');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return fail('must start with redis:// or rediss:// (rediss for TLS)');
  if (url.hostname === '') return fail('expected a redis:// or rediss:// URL such as redis://redis.internal:6379');
  if (url.search || url.hash) return fail('must not have a query or fragment: set options with the redis.* keys');
  if (!/^\/?(\d{1,4})?$/.test(url.pathname)) return fail('its path must be a database number, such as /0');
});

/** A Sentinel or Cluster node: `host:port`, an IPv6 address in brackets. */
const hostPort = z
  .string({ error: 'expected host:port, such as redis-1.internal:6379' })
  .refine((value) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
    return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
  }, { error: 'expected host:port, such as redis-1.internal:6379' });

/** The database of a Redis URL (0 when it names none, or when the URL is refused on its own). */
function redisDatabase(url: string): number {
  return Number(URL.parse(url)?.pathname.slice(1) || '0');
}

/** 32 bytes in standard or URL-safe base64; Node's decoder reads both alphabets. */
function isBase64Key(value: string): boolean {
  // Node's decoder silently skips characters outside the alphabet, so check the alphabet first.
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32;
}

/** Senders of SMS (src/messaging/senders.ts). */
export const smsSenders = ['console', 'webhook', 'twilio'] as const;

/** An http: or https: URL without credentials (they belong in the settings made for them). */
const httpUrl = z.string({ error: 'expected a URL' }).superRefine((value, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message, input: value });
  const url = URL.parse(value);
  if (url === null) return fail('expected an absolute URL such as https://sms.example.com/send');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('must be an http: or https: URL');
  if (url.username || url.password) return fail('must not contain a username or password');
});

/** Senders of e-mail (src/messaging/email-senders.ts). */
export const emailSenders = ['console', 'smtp', 'webhook'] as const;

/**
 * One plain address (`local@domain`), the only form `from` takes: the display name is the tenant's
 * (src/messaging/email.ts), and nothing that could end a header line or name a second mailbox.
 */
const mailbox = z
  .string({ error: 'expected an e-mail address' })
  .max(254, { error: 'must be at most 254 characters' })
  .regex(/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, { error: 'expected one plain address such as no-reply@example.com (no name, no angle brackets)' });

/** A webhook Gatehouse signs its POSTs to (SMS, e-mail): where, and the shared secret. */
function signedWebhook() {
  return z
    .object({
      /** Receives a signed JSON POST per message; called through the outbound-request guard. */
      url: httpUrl.optional(),
      /** Secret: the HMAC-SHA256 key of the signature header. */
      secret: z.string({ error: 'expected a string' }).min(32, { error: 'must be at least 32 characters (create one with `openssl rand -base64 32`)' }).max(512, { error: 'must be at most 512 characters' }).optional(),
    })
    .strict()
    .prefault({});
}

export const storeKinds = ['nedb', 'memory', 'mongodb'] as const;
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const envNames = ['development', 'test', 'production'] as const;
export const tenantLabelModes = ['off', 'all', 'top'] as const;

/**
 * A bearer token for `/metrics`: long enough that guessing is hopeless (the endpoint is not
 * throttled), and only characters a `Bearer` credential may carry (RFC 6750 b64token).
 */
const metricsToken = z
  .string({ error: 'expected a string' })
  .min(32, { error: 'must be at least 32 characters (create one with `openssl rand -base64 32`)' })
  .max(512, { error: 'must be at most 512 characters' })
  .regex(/^[A-Za-z0-9._~+/-]+=*$/, { error: 'may contain only letters, digits and . _ ~ + / - (then = padding), as a Bearer token must' });

export const configSchema = z
  .object({
    /** `development`, `test` or `production`, from NODE_ENV. */
    env: oneOf(envNames).default('development'),
    /**
     * The URL users and relying parties reach Gatehouse at; issuers are `{publicUrl}/t/{tenant}`.
     * Unset means `http://localhost:{port}`, or `http://localhost:3000` in production; `loadConfig` resolves it.
     */
    publicUrl: publicUrl.optional(),
    /** Interface to listen on. */
    host: nonEmpty().default('0.0.0.0'),
    /** TCP port to listen on; 0 picks a free port (tests). */
    port: wholeNumber(0, 65535).default(3000),
    /**
     * Replaced by `proxy.*`. It believed the left-most X-Forwarded-For entry, which the client
     * writes; `true` is refused with a message saying what to set (rules.ts), `false` is harmless.
     */
    trustProxy: flag().optional(),
    /**
     * Which proxies in front of Gatehouse may say who the client is (X-Forwarded-For): the number
     * of proxy hops, or the networks the proxies connect from. Neither: the socket peer is the client.
     */
    proxy: z
      .object({
        hops: wholeNumber(0, 10).default(0),
        trustedNetworks: z.array(trustedNetwork, { error: 'expected a list of networks' }).max(256, { error: 'must list at most 256 networks' }).default([]),
      })
      .strict()
      .refine((value) => value.hops === 0 || value.trustedNetworks.length === 0, { error: 'set proxy.hops or proxy.trustedNetworks, not both' })
      .prefault({}),
    /** Where the embedded store and the development master key live. */
    dataDir: nonEmpty().default('./data'),
    store: z
      .object({
        kind: oneOf(storeKinds).default('nedb'),
        mongodb: z
          .object({
            /** Secret: may carry credentials, so it is never echoed in errors. */
            uri: z
              .string({ error: 'expected a string' })
              .regex(/^mongodb(\+srv)?:\/\//, { error: 'must start with mongodb:// or mongodb+srv://' })
              .optional(),
            database: nonEmpty().max(63, { error: 'must be at most 63 characters' }).default('gatehouse'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * 32 bytes, base64 or base64url, that encrypt private keys and other secrets at rest.
     * Unset in development: generated once into `{dataDir}/master.key`. Required in production.
     */
    masterKey: z
      .string({ error: 'expected a string' })
      .refine(isBase64Key, {
        error: 'must be 32 random bytes encoded as base64 (create one with `openssl rand -base64 32`)',
      })
      .optional(),
    keys: z
      .object({
        /**
         * Create a tenant's signing keys the first time the tenant is used. Convenient in
         * development; production requires keys created on purpose (`gatehouse keys rotate`).
         * Unset means "not in production"; `loadConfig` resolves it.
         */
        autoGenerate: flag().optional(),
        /**
         * `Cache-Control: max-age` of the JWKS and discovery responses: how long relying parties
         * may keep them. A rotated key is published at least this long plus `tenants.refreshSeconds`
         * before it signs (`gatehouse keys rotate`), so a relying party never meets a token signed
         * by a key its cached JWKS lacks.
         */
        jwksCacheSeconds: wholeNumber(0, 86400).default(300),
      })
      .strict()
      .prefault({}),
    demo: z
      .object({
        /** Seed a `demo` tenant with a demo user once, at start (development login). Unset means "in development". */
        seed: flag().optional(),
        username: nonEmpty().default('demo'),
        password: z
          .string({ error: 'expected a string' })
          .min(8, { error: 'must be at least 8 characters' })
          .default('gatehouse-demo'),
      })
      .strict()
      .prefault({}),
    bootstrap: z
      .object({
        /** The first operator of the system tenant, created once when missing. */
        adminUsername: nonEmpty().max(256).optional(),
        adminPassword: z.string({ error: 'expected a string' }).min(12, { error: 'must be at least 12 characters' }).max(1024).optional(),
        /** A system service account for the client-credentials grant, created once when missing. */
        clientId: z.string({ error: 'expected a string' }).regex(/^[A-Za-z0-9._:-]{1,128}$/, { error: 'letters, digits, ".", "_", ":" or "-", at most 128' }).optional(),
        clientSecret: z.string({ error: 'expected a string' }).min(32, { error: 'must be at least 32 characters' }).max(512).optional(),
      })
      .strict()
      .refine((value) => (value.adminUsername === undefined) === (value.adminPassword === undefined), { error: 'adminUsername and adminPassword go together' })
      .refine((value) => (value.clientId === undefined) === (value.clientSecret === undefined), { error: 'clientId and clientSecret go together' })
      .prefault({}),
    password: z
      .object({
        /** argon2id memory in KiB; OWASP's minimum is 19456 (19 MiB). */
        memoryCost: wholeNumber(19456, 4 * 1024 * 1024).default(19456),
        timeCost: wholeNumber(2, 20).default(2),
        parallelism: wholeNumber(1, 16).default(1),
        /** Concurrent argon2 computations; more wait in line so a password flood cannot starve tokens. */
        maxConcurrentHashes: wholeNumber(1, 64).default(4),
        /**
         * The k-anonymity range API for tenants whose `breached_check` is `range_api`: the first five
         * hex digits of a new password's SHA-1 are appended; called through the outbound guard.
         */
        breachRangeUrl: httpUrl.default('https://api.pwnedpasswords.com/range/'),
        /** A range call not answered within this time fails, and the shipped list answers alone, in ms. */
        breachRangeTimeoutMs: wholeNumber(100, 10000).default(2000),
      })
      .strict()
      .prefault({}),
    tenants: z
      .object({
        /** Built provider instances kept in memory (LRU). */
        poolSize: wholeNumber(1, 100000).default(500),
        /**
         * Seconds a built tenant is kept before it is rebuilt from the store, so every instance
         * picks up rotated keys and other changes made elsewhere within this time.
         */
        refreshSeconds: wholeNumber(1, 86400).default(300),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        /** Largest request body accepted by forms and APIs, in bytes. */
        bodyLimit: wholeNumber(1024, 10 * 1024 * 1024).default(64 * 1024),
        /** Time given to in-flight requests on SIGTERM before the process exits, in ms. */
        shutdownGraceMs: wholeNumber(0, 120000).default(10000),
        /**
         * On SIGTERM, readiness turns red and requests are still served for this long before the
         * listener closes, so load balancers stop sending new requests first, in ms.
         */
        drainDelayMs: wholeNumber(0, 120000).default(5000),
        /** A client must send all request headers within this time, in ms (slowloris). */
        headersTimeoutMs: wholeNumber(1000, 120000).default(10000),
        /** A client must send the whole request, headers and body, within this time, in ms. */
        requestTimeoutMs: wholeNumber(1000, 600000).default(30000),
        /** Open connections at once; further connections are closed as they arrive. */
        maxConnections: wholeNumber(1, 1000000).default(1000),
        /**
         * Let Gatehouse call URLs that clients registered (back-channel logout, `jwks_uri`, ...) when
         * they resolve to loopback, private or other special-use addresses. Off: such calls are refused
         * so a client registration cannot make Gatehouse reach into its own network (SSRF); only
         * development mode still reaches loopback URLs (src/oidc/outbound.ts).
         */
        allowPrivateNetworkFetch: flag().default(false),
        /**
         * A PEM file of CA certificates that the provider's outbound HTTPS calls (CIBA pings,
         * back-channel logout, `jwks_uri`) trust besides the system's: for endpoints under a private
         * CA. Certificates are still verified; read once at start (src/oidc/outbound-trust.ts).
         */
        outboundCaFile: nonEmpty().optional(),
      })
      .strict()
      .refine((value) => value.headersTimeoutMs <= value.requestTimeoutMs, { error: 'headersTimeoutMs must not be longer than requestTimeoutMs (the headers are part of the request)' })
      .prefault({}),
    /**
     * Short-lived state (sessions, codes, replay caches, counters) on Redis. Off (kept in the store)
     * unless `url`, `sentinel` or `cluster` is set; several instances need it.
     */
    redis: z
      .object({
        /** Secret: may carry a password. With Sentinel or Cluster it gives only the scheme, credentials (and database). */
        url: redisUrl.optional(),
        sentinel: z
          .object({
            sentinels: z.array(hostPort, { error: 'expected a list of host:port' }).min(1, { error: 'must list at least one sentinel' }).max(32),
            /** The name of the primary the sentinels watch (`sentinel monitor <name> ...`). */
            name: nonEmpty().max(256),
            /** Secret: the sentinels' own password, when they have one. */
            password: z.string({ error: 'expected a string' }).optional(),
          })
          .strict()
          .optional(),
        cluster: z
          .object({
            nodes: z.array(hostPort, { error: 'expected a list of host:port' }).min(1, { error: 'must list at least one node' }).max(64),
          })
          .strict()
          .optional(),
        tls: z
          .object({
            /** PEM file of the CA that signed the server's certificate (private CAs). */
            caFile: nonEmpty().optional(),
            /** Check the server's certificate; refused as false in production. */
            rejectUnauthorized: flag().default(true),
          })
          .strict()
          .prefault({}),
        /** Put before every key, so several deployments can share one Redis. No braces (hash tags) or glob characters. */
        keyPrefix: z
          .string({ error: 'expected a string' })
          .regex(/^[A-Za-z0-9._:-]{1,64}$/, { error: 'expected 1 to 64 letters, digits, ".", "_", ":" or "-" (braces would become the Cluster hash tag)' })
          .default('gatehouse:'),
        /** A command not answered within this time fails (503), in ms. */
        commandTimeoutMs: wholeNumber(50, 60000).default(1000),
        /** A connection not made within this time fails, in ms. */
        connectTimeoutMs: wholeNumber(100, 60000).default(2000),
        /** Refuse to start unless Redis is set to `maxmemory-policy noeviction`; false only warns. */
        requireNoEviction: flag().default(true),
      })
      .strict()
      .refine((value) => value.sentinel === undefined || value.cluster === undefined, { error: 'set redis.sentinel or redis.cluster, not both' })
      .refine((value) => value.cluster === undefined || value.url === undefined || redisDatabase(value.url) === 0, { error: 'Redis Cluster has only database 0: remove the database from redis.url' })
      .refine((value) => (value.tls.caFile === undefined && value.tls.rejectUnauthorized) || (value.url?.startsWith('rediss://') ?? false), {
        error: 'redis.tls applies to TLS connections only: use a rediss:// URL in redis.url',
        path: ['tls'],
      })
      .prefault({}),
    /**
     * Outbound messages (SMS one-time codes now; notifications and e-mail later) and who delivers
     * them (src/messaging). Unset `sms.sender` means `console` outside production and no sender in
     * production, where `console` is refused (rules.ts).
     */
    messaging: z
      .object({
        sms: z
          .object({
            sender: oneOf(smsSenders).optional(),
            /** A sender's HTTP call not answered within this time fails (worth retrying), in ms. */
            timeoutMs: wholeNumber(100, 60000).default(5000),
            webhook: signedWebhook(),
            twilio: z
              .object({
                accountSid: z.string({ error: 'expected a string' }).regex(/^AC[0-9a-fA-F]{32}$/, { error: 'expected AC followed by 32 hexadecimal digits (the Account SID in the Twilio console)' }).optional(),
                /** Secret: the account's auth token, sent only as the HTTP Basic password. */
                authToken: nonEmpty().max(256, { error: 'must be at most 256 characters' }).optional(),
                /** The sending number (E.164) or alphanumeric sender ID; or a messaging service instead. */
                from: nonEmpty().max(32, { error: 'must be at most 32 characters' }).optional(),
                messagingServiceSid: z.string({ error: 'expected a string' }).regex(/^MG[0-9a-fA-F]{32}$/, { error: 'expected MG followed by 32 hexadecimal digits' }).optional(),
                /** Twilio's API; tests point it at a local server. */
                baseUrl: httpUrl.default('https://api.twilio.com'),
              })
              .strict()
              .prefault({}),
          })
          .strict()
          .prefault({}),
        /**
         * E-mail (verification links and codes, password resets, account notices). Unset `sender`
         * means `console` outside production and no sender in production, where `console` is refused.
         */
        email: z
          .object({
            sender: oneOf(emailSenders).optional(),
            /** The envelope and `From` address; the display name is the tenant's. */
            from: mailbox.default('no-reply@localhost'),
            /** A send not finished within this time fails (worth retrying), in ms. */
            timeoutMs: wholeNumber(100, 120000).default(10000),
            smtp: z
              .object({
                host: nonEmpty().max(253, { error: 'must be at most 253 characters' }).optional(),
                port: wholeNumber(1, 65535).default(587),
                /** TLS from the first byte (port 465); false means STARTTLS on a plain connection. */
                secure: flag().default(false),
                /** Without `secure`: refuse to send unless the server offers STARTTLS. */
                requireTls: flag().default(true),
                /** Check the server's certificate; refused as false in production. */
                rejectUnauthorized: flag().default(true),
                /** PEM file of CA certificates the server's certificate may chain to (private CAs). */
                caFile: nonEmpty().optional(),
                user: nonEmpty().max(256, { error: 'must be at most 256 characters' }).optional(),
                /** Secret: the SMTP AUTH password. */
                password: nonEmpty().max(1024, { error: 'must be at most 1024 characters' }).optional(),
              })
              .strict()
              .refine((value) => (value.user === undefined) === (value.password === undefined), { error: 'user and password go together' })
              .prefault({}),
            webhook: signedWebhook(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    ciba: z
      .object({
        /**
         * How often each instance sweeps the open CIBA requests of tenants with CIBA on, to audit
         * those that expired unpolled (`ciba.expired`), in seconds. The sweep is cheap (one set read
         * per tenant) and every instance runs it; an end marker per request decides who audits.
         */
        sweepIntervalSeconds: wholeNumber(1, 600).default(60),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: oneOf(logLevels).default('info'),
      })
      .strict()
      .prefault({}),
    /**
     * Prometheus metrics at `/metrics`. Exposed on a listener of their own (`port`, on `host`), or on
     * the main port behind a bearer token (`token`); with neither, only development and test serve
     * them, on the main port, to loopback peers (never in production).
     */
    metrics: z
      .object({
        enabled: flag().default(true),
        /** A separate listener serving only `/metrics`; 0 picks a free port (tests). */
        port: wholeNumber(0, 65535).optional(),
        /** Interface of the metrics listener: loopback unless the scraper runs elsewhere. */
        host: nonEmpty().default('127.0.0.1'),
        /** Secret: required as `Authorization: Bearer <token>` on `/metrics` (either port). */
        token: metricsToken.optional(),
        /** Tenant ids as label values: `off` (one value, `_all`), `all`, or the first `topTenants` seen (`top`). */
        tenantLabel: oneOf(tenantLabelModes).default('off'),
        topTenants: wholeNumber(1, 1000).default(10),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Dotted paths whose values are secrets: never echoed in error messages. */
export const secretPaths: ReadonlySet<string> = new Set([
  'masterKey',
  'demo.password',
  'store.mongodb.uri',
  'bootstrap.adminPassword',
  'bootstrap.clientSecret',
  'redis.url',
  'redis.sentinel.password',
  'metrics.token',
  'messaging.sms.webhook.secret',
  'messaging.sms.twilio.authToken',
  'messaging.email.smtp.password',
  'messaging.email.webhook.secret',
]);

/** What a config file or `loadConfig({ overrides })` may contain: every key optional. */
export type ConfigInput = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

type DeepReadonly<T> = T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The resolved, deep-frozen configuration passed down from `main`. */
export type Config = DeepReadonly<
  Omit<Parsed, 'publicUrl' | 'keys' | 'demo'> & {
    publicUrl: string;
    keys: { autoGenerate: boolean; jwksCacheSeconds: number };
    demo: { seed: boolean; username: string; password: string };
  }
>;
