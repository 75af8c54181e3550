/**
 * What the benchmark's processes share: the handshake between a server under test and the runner,
 * and the fixed inputs both servers are seeded with, so the two sides do the same work.
 */
import argon2 from 'argon2';
import { createServer } from 'node:net';

/** The password of the one benchmark user on both servers. */
export const BENCH_PASSWORD = 'correct horse battery staple';
export const BENCH_USERNAME = 'alice';
export const BENCH_CLIENT_ID = 'bench-client';
export const BENCH_API = 'https://api.bench.example';
/** Never contacted: the load generator stops at this URI and reads the code from it. */
export const BENCH_REDIRECT_URI = 'http://127.0.0.1:9/callback';

/**
 * OWASP's argon2id minimum (m=19456 KiB, t=2, p=1), which is also Gatehouse's default. The bare
 * baseline hashes with exactly these so a login costs the same argon2 work on both sides.
 */
export const OWASP_ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** What a server under test tells the runner once it listens (one JSON line on stdout). */
export interface ServerInfo {
  name: string;
  issuer: string;
  /** `http://127.0.0.1:port`; forms are POSTed with this as `Origin` */
  origin: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  api: string;
  username: string;
  password: string;
}

/** Prints the handshake line the runner waits for. */
export function announce(info: ServerInfo): void {
  process.stdout.write(`${JSON.stringify({ ready: info })}\n`);
}

/**
 * Stops the server when the runner closes our stdin (or dies). A clean `process.exit` rather than a
 * signal, so `--cpu-prof` gets to write its profile.
 */
export function stopWithParent(stop: () => Promise<void>): void {
  let stopping = false;
  const leave = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    stop()
      .catch((error: unknown) => console.error(error))
      .finally(() => process.exit(0));
  };
  process.stdin.on('end', leave);
  process.stdin.on('close', leave);
  process.stdin.resume();
  process.on('SIGTERM', leave);
  process.on('SIGINT', leave);
}

/** A free loopback port: Gatehouse's public URL (and so its issuer) must be known before it listens. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
