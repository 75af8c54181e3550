/**
 * What the benchmark's processes share: the handshake between a server under test and the runner,
 * and the fixed inputs both servers are seeded with, so the two sides do the same work.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import argon2 from 'argon2';
import { ScureBase32Plugin } from 'otplib';

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

/**
 * Users with an authenticator app, on the Gatehouse sides only: `totp-0` to `totp-{n-1}`, with the
 * benchmark password and the secret {@link benchTotpSecret}. A code is accepted once per user and
 * 30 s step, so there are enough of them that no user signs in twice within one step.
 */
export const BENCH_TOTP_USERS = 3000;

const base32 = new ScureBase32Plugin();

/** The base32 TOTP secret of bench user `totp-{index}` (160 bits, derived, so both processes know it). */
export function benchTotpSecret(index: number): string {
  return base32.encode(createHash('sha256').update(`bench-totp:${index}`).digest().subarray(0, 20));
}

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
  /** how many `totp-{n}` users with an authenticator app it has (Gatehouse only) */
  totpUsers?: number;
}

/** Prints the handshake line the runner waits for. */
export function announce(info: ServerInfo): void {
  process.stdout.write(`${JSON.stringify({ ready: info })}\n`);
}

/** What the runner can ask a server to do. */
export type RunnerRequest = { cmd: 'profile-start' } | { cmd: 'profile-stop'; path: string };
/** A request as sent: one JSON line on the server's stdin, answered with `{"done": id}` on its stdout. */
export type RunnerCommand = RunnerRequest & { id: number };

/**
 * Serves the runner: CPU profiling of the main thread on request (through the inspector, so a
 * profile covers exactly one measurement, without start-up or idle time), and a clean stop when the
 * runner closes our stdin or dies.
 */
export function serveRunner(stop: () => Promise<void>): void {
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
  let session: Session | undefined;
  const run = async (command: RunnerCommand) => {
    if (command.cmd === 'profile-start') {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    } else if (session) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      await writeFile(command.path, JSON.stringify(profile));
    }
    process.stdout.write(`${JSON.stringify({ done: command.id })}\n`);
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    void run(JSON.parse(line) as RunnerCommand).catch((error: unknown) => console.error(error));
  });
  process.stdin.on('end', leave);
  process.stdin.on('close', leave);
  process.on('SIGTERM', leave);
  process.on('SIGINT', leave);
}

export { freePort } from '../test/helpers/gatehouse.js';
