import { createServer } from 'node:net';

/**
 * Ports handed out from below Linux's ephemeral range (32768-60999 by default). A port the kernel
 * chose with `listen(0)` comes from that range, which is also where every outgoing connection gets
 * its source port, so between probing it and the real `listen` a connection to Redis or an HTTP
 * request of a parallel test file could take it (EADDRINUSE). Below the range only another probe
 * can collide, and the random start makes that unlikely; a port found busy is skipped.
 */
const LOW = 20_000;
const HIGH = 32_000;

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A free loopback port (a public URL or a redis-server must know its port before it starts). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await tryListen(port)) return port;
  }
  throw new Error(`no free loopback port between ${LOW} and ${HIGH} after 50 tries`);
}
