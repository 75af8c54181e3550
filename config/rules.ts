import { emailProblems } from './email-rules.js';
import { messagingProblems } from './messaging-rules.js';
import type { Problem, SourceOf } from './problems.js';
import { defaultPublicUrl } from './public-url.js';
import type { Config } from './schema.js';

type Parsed = Omit<Config, 'publicUrl' | 'keys' | 'demo'> & {
  readonly publicUrl?: string | undefined;
  readonly keys: { readonly autoGenerate?: boolean | undefined; readonly jwksCacheSeconds: number };
  readonly demo: { readonly seed?: boolean | undefined; readonly username: string; readonly password: string };
};

/**
 * Fills the keys whose default depends on the environment: keys are generated on first use, the
 * demo tenant is seeded and SMS go to the log only where that is a convenience, never in production;
 * the public URL follows the port outside production.
 */
export function resolveDefaults(parsed: Parsed): Config {
  return {
    ...parsed,
    publicUrl: parsed.publicUrl ?? defaultPublicUrl(parsed.env, parsed.port),
    keys: { ...parsed.keys, autoGenerate: parsed.keys.autoGenerate ?? parsed.env !== 'production' },
    demo: { ...parsed.demo, seed: parsed.demo.seed ?? parsed.env === 'development' },
    messaging: {
      ...parsed.messaging,
      sms: { ...parsed.messaging.sms, sender: parsed.messaging.sms.sender ?? (parsed.env === 'production' ? undefined : 'console') },
      email: { ...parsed.messaging.email, sender: parsed.messaging.email.sender ?? (parsed.env === 'production' ? undefined : 'console') },
    },
  };
}

/** Loopback hosts, where plain http cannot be observed by anyone else. */
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Rules across keys, and the settings production refuses. Each message says what to do instead,
 * because the reader is an operator whose deployment just failed to start.
 */
export function checkRules(config: Config, sourceOf: SourceOf): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, source: sourceOf(path), message });

  if (config.store.kind === 'mongodb' && config.store.mongodb.uri === undefined) {
    add('store.mongodb.uri', 'is required when store.kind is mongodb (for example mongodb://db.internal:27017)');
  }
  if (config.trustProxy === true) {
    add(
      'trustProxy',
      'is no longer supported: it believed the left-most X-Forwarded-For entry, which the client writes itself; ' +
        'remove it and set proxy.hops (GATEHOUSE_PROXY_HOPS) to the number of proxies in front of Gatehouse ' +
        '(1 for one nginx, HAProxy or cloud load balancer), or proxy.trustedNetworks (GATEHOUSE_PROXY_TRUSTED_NETWORKS) to the networks they connect from',
    );
  }
  if (config.metrics.port !== undefined && config.metrics.port !== 0 && config.metrics.port === config.port) {
    add('metrics.port', `must differ from port (${config.port}): the metrics listener is a server of its own; leave metrics.port unset to serve /metrics on the main port behind metrics.token`);
  }
  messagingProblems(config, add);
  emailProblems(config, add);
  if (config.env !== 'production') return problems;

  if (config.demo.seed) {
    add('demo.seed', 'is not allowed in production: it creates a demo tenant with a well-known login; set it to false or remove it');
  }
  if (config.keys.autoGenerate) {
    add(
      'keys.autoGenerate',
      'is not allowed in production: signing keys would be created silently on first use; ' +
        'create each tenant\'s keys on purpose with `gatehouse keys rotate --tenant <id>` and set this to false or remove it',
    );
  }
  if (config.masterKey === undefined) {
    add(
      'masterKey',
      'is required in production, otherwise one would be generated into the data directory; ' +
        'create one with `openssl rand -base64 32` and keep it in your secret store',
    );
  }
  const url = new URL(config.publicUrl);
  if (url.protocol === 'http:' && !loopbackHosts.has(url.hostname)) {
    add('publicUrl', 'must be an https: URL in production (http: is only allowed for localhost); terminate TLS in front of Gatehouse and set proxy.hops or proxy.trustedNetworks');
  }
  if (!config.redis.tls.rejectUnauthorized) {
    add(
      'redis.tls.rejectUnauthorized',
      'is not allowed in production: Redis\'s certificate would go unchecked, so anyone on the path could read and forge sessions and codes; ' +
        'remove it and give the CA that signed the certificate with redis.tls.caFile (GATEHOUSE_REDIS_TLS_CA_FILE)',
    );
  }
  if (config.store.kind === 'memory') {
    add('store.kind', 'must not be memory in production: every tenant, user and key would be lost on restart; use nedb or mongodb');
  }
  return problems;
}
