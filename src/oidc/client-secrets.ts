import { randomBytes, timingSafeEqual } from 'node:crypto';
import Provider from 'oidc-provider';
import { hashClientSecret } from '../domain/secrets.js';

function matches(presented: string, hash: string): boolean {
  const actual = Buffer.from(hashClientSecret(presented));
  const expected = Buffer.from(hash);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The secret in this request: `client_secret` in the body, or the password of Basic auth. */
function presentedSecret(): string | undefined {
  const ctx = Provider.ctx;
  if (!ctx) return undefined;
  const fromBody = ctx.oidc?.params?.['client_secret'];
  if (typeof fromBody === 'string' && fromBody) return fromBody;
  const header = ctx.headers?.authorization;
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

// Two unguessable stand-ins, so the one handed out always differs from what was presented.
const standIns = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')] as const;

/**
 * Client secrets are stored only as hashes (`hashClientSecret`). oidc-provider compares the secret
 * a client presents with the `client_secret` of the client's metadata, so when it loads a client
 * during a request we give it the presented secret if (and only if) it matches the stored hash, and
 * otherwise a value that can never equal what was presented. Only `client_secret_basic` and
 * `client_secret_post` are offered (methods that need the plaintext, such as `client_secret_jwt`,
 * are not: see client-auth.ts).
 */
export function secretForProvider(hash: string): string {
  const presented = presentedSecret();
  if (presented !== undefined && matches(presented, hash)) return presented;
  return presented === standIns[0] ? standIns[1] : standIns[0];
}
