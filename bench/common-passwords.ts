/**
 * The cost of the shipped list of common passwords (src/authn/common-passwords.ts), in a fresh
 * process: the first lookup (import, unpacking and the Set), the memory it keeps, and a lookup
 * afterwards. `npx tsx --expose-gc bench/common-passwords.ts`; docs/accounts.md quotes the numbers.
 */
import { CommonPasswords } from '../src/authn/common-passwords.js';

const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => {
  gc?.();
  gc?.();
  return process.memoryUsage();
};

const before = settle();
const list = new CommonPasswords();
const started = performance.now();
await list.has('warm-up');
const firstMs = performance.now() - started;
const after = settle();

const rounds = 200_000;
const words = ['password', 'violet kestrel', 'letmein', 'qwerty123', 'eleven quiet moons'];
const loop = performance.now();
let hits = 0;
for (let i = 0; i < rounds; i += 1) if (await list.has(words[i % words.length]!)) hits += 1;
const perLookupUs = ((performance.now() - loop) * 1000) / rounds;

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
console.log(`entries: ${await list.size()}`);
console.log(`first lookup (import + unpack + Set): ${firstMs.toFixed(0)} ms`);
console.log(`heap kept: ${mib(after.heapUsed - before.heapUsed)} MiB; RSS grew ${mib(after.rss - before.rss)} MiB${gc ? '' : ' (run with --expose-gc for settled numbers)'}`);
console.log(`a lookup afterwards: ${perLookupUs.toFixed(2)} µs (${hits} hits of ${rounds})`);
