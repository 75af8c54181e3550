import type { Problem, SourceOf } from './problems.js';

/**
 * The public URL when none is set. Outside production it follows the port, so `GATEHOUSE_PORT=4500`
 * alone gives a working `http://localhost:4500`; production refuses to start without one (see
 * {@link publicUrlProblem}), because there the listening port is rarely the public one.
 */
export function defaultPublicUrl(env: string, port: number): string {
  return env === 'production' ? 'http://localhost:3000' : `http://localhost:${port}`;
}

/**
 * Production needs the public URL said outright: every tenant's issuer is built from it, and a
 * guess baked into tokens and relying parties' configurations is costly to take back. Elsewhere,
 * port 0 picks a free port at start, so no URL can be derived from it before the server listens.
 */
export function publicUrlProblem(parsed: { env: string; port: number; publicUrl?: string | undefined }, sourceOf: SourceOf): Problem | undefined {
  if (parsed.publicUrl !== undefined) return undefined;
  if (parsed.env === 'production') {
    return {
      path: 'publicUrl',
      source: sourceOf('publicUrl'),
      message: 'is required in production: every issuer, redirect and link is built from it; set the https address users reach (for example GATEHOUSE_PUBLIC_URL=https://id.example.com)',
    };
  }
  if (parsed.port !== 0) return undefined;
  return {
    path: 'publicUrl',
    source: sourceOf('publicUrl'),
    message: 'is needed when port is 0: the free port chosen at start cannot be known in advance; set the URL clients will use',
  };
}

/** Names of this machine: a public URL on one of them reaches Gatehouse only on the port it names. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '127.0.0.1' || hostname === '[::1]';
}

/**
 * A loopback public URL whose port is not the one Gatehouse listens on sends every browser and
 * relying party to a port where nothing answers, unless something on this machine forwards it (a
 * local proxy, a container's port mapping). That cannot be told from here, so it is a warning.
 */
export function publicUrlPortWarning(config: { publicUrl: string; port: number }, sourceOf: SourceOf): string | undefined {
  const url = new URL(config.publicUrl);
  if (config.port === 0 || !isLoopback(url.hostname)) return undefined;
  const urlPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (urlPort === config.port) return undefined;
  const suggested = `${url.protocol}//${url.hostname}:${config.port}`;
  return (
    `publicUrl (${sourceOf('publicUrl') ?? 'default'}) is ${config.publicUrl} but port (${sourceOf('port') ?? 'default'}) is ${config.port}: ` +
    `issuers, sign-in redirects and links point at port ${urlPort}, where this server does not listen. ` +
    `Either set GATEHOUSE_PUBLIC_URL=${suggested} (or leave it unset in development: it then follows the port), ` +
    `or set GATEHOUSE_PORT=${urlPort}. Ignore this only if something forwards port ${urlPort} to port ${config.port} (a proxy or a container port mapping).`
  );
}
