/**
 * `npm run bench`: starts Gatehouse on its embedded store, Gatehouse with a real redis-server (when
 * one is installed) and a bare oidc-provider in child processes, measures each workload on every
 * side in rounds of rotating order, prints the report and writes it to docs/benchmarks.md.
 *
 * Options: `--rounds N` (3), `--seconds N` measured per workload and server (4), `--warmup N` (1),
 * `--dry-run` (print only), `--only clientCredentials,login` (a subset; never written),
 * `--profile` (a V8 CPU profile of each server's main thread per workload, first round only, into
 * bench/profiles/; never written, since profiling slows the servers down).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import argon2 from 'argon2';
import { cpuSpent, cpuTimes, type CpuTimes } from './cpu.js';
import { HttpClient } from './http.js';
import { measure } from './load.js';
import { redisServerAvailable, startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';
import { checkTargets, describeMachine, machineWasBusy, renderMarkdown, summarise, type Sample, type Side } from './report.js';
import { prepareTarget, scenarios, type Target } from './scenarios.js';
import { startServer, type ServerProcess } from './servers.js';
import { OWASP_ARGON2 } from './shared.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    'dry-run': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const rounds = positive(args.rounds, 'rounds');
const seconds = positive(args.seconds, 'seconds');
const warmupSeconds = positive(args.warmup, 'warmup');
const selected = args.only ? scenarios.filter((scenario) => args.only!.split(',').includes(scenario.key)) : scenarios;
if (selected.length === 0) throw new Error(`--only takes a comma-separated list of ${scenarios.map((s) => s.key).join(', ')}`);
const profileDir = args.profile ? `${root}bench/profiles` : undefined;
// A partial or profiled run is not the benchmark: it is printed, never written to the docs.
const write = !args['dry-run'] && !args.profile && selected.length === scenarios.length;

function positive(value: string, name: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || number > 60) throw new Error(`--${name} must be a number above 0 and at most 60, got ${value}`);
  return number;
}

const log = (message: string) => process.stderr.write(`${message}\n`);

/** argon2id verifications per second with nothing else to do: the most logins/s can ever be. */
async function argon2Ceiling(cores: number): Promise<number> {
  const hash = await argon2.hash('ceiling', OWASP_ARGON2);
  const result = await measure(
    async () => {
      if (!(await argon2.verify(hash, 'ceiling'))) throw new Error('argon2 verify failed');
    },
    { concurrency: cores, warmupMs: 500, durationMs: 3000 },
  );
  return result.perSecond;
}

const started = performance.now();
const loadAtStart = loadavg();
const machine = describeMachine();
const withRedis = redisServerAvailable();
const sides: Side[] = withRedis ? ['gatehouse', 'gatehouseRedis', 'baseline', 'baselineRedis'] : ['gatehouse', 'baseline'];
log(`Benchmark: ${rounds} rounds x ${selected.length} workloads x ${sides.length} servers, ${warmupSeconds} s warm-up + ${seconds} s each`);
log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${loadAtStart.map((v) => v.toFixed(2)).join(' ')}`);
if (!withRedis) log('redis-server is not installed: no Redis mode in this run, two sides only (apt-get install redis-server)');

const files: Record<Side, string> = {
  gatehouse: 'bench/gatehouse-server.ts',
  gatehouseRedis: 'bench/gatehouse-server.ts',
  baseline: 'bench/bare-server.ts',
  baselineRedis: 'bench/bare-server.ts',
};
const servers: ServerProcess[] = [];
let redis: RedisServer | undefined;
let exitCode = 0;
try {
  if (withRedis) redis = await startRedisServer();
  const env = (side: Side): Record<string, string> => ((side === 'gatehouseRedis' || side === 'baselineRedis') && redis ? { BENCH_REDIS_URL: redis.url } : {});
  const starting = await Promise.allSettled(sides.map((side) => startServer(root, files[side], side, env(side))));
  for (const result of starting) if (result.status === 'fulfilled') servers.push(result.value);
  const failed = starting.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  const processes = Object.fromEntries(sides.map((side, index) => [side, servers[index]!])) as Record<Side, ServerProcess>;

  const setup = new HttpClient(1);
  const targets = {} as Record<Side, Target>;
  for (const side of sides) targets[side] = await prepareTarget(processes[side].info, setup);
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const ceiling = await argon2Ceiling(availableParallelism());
  log(`argon2id alone: ${ceiling.toFixed(1)} verifications/s`);

  const samples: Sample[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const scenario of selected) {
      // Rotate who goes first, so a drift of the machine's speed does not always favour one side.
      const shift = (round - 1) % sides.length;
      const order = [...sides.slice(shift), ...sides.slice(0, shift)].filter((side) => !scenario.gatehouseOnly || side.startsWith('gatehouse'));
      for (const side of order) {
        const server = processes[side];
        // Tokens and logins the workload needs, just before it is measured: the baseline's in-memory
        // adapter keeps only its latest 1000 entries, so anything obtained earlier could be gone.
        const iteration = await scenario.prepare(targets[side], setup, scenario.concurrency);
        const profile = profileDir && round === 1 ? `${profileDir}/${side}-${scenario.key}.cpuprofile` : undefined;
        const http = new HttpClient(scenario.concurrency);
        let before: CpuTimes | undefined;
        let cpu: CpuTimes | undefined;
        let runnerBefore: NodeJS.CpuUsage | undefined;
        let runnerMs: number | undefined;
        const measurement = await measure(() => iteration(http), {
          concurrency: scenario.concurrency,
          warmupMs: warmupSeconds * 1000,
          durationMs: seconds * 1000,
          onWindowStart: async () => {
            before = cpuTimes(server.pid);
            runnerBefore = process.cpuUsage();
            if (profile) await server.command({ cmd: 'profile-start' });
          },
          onWindowEnd: async () => {
            cpu = cpuSpent(before, cpuTimes(server.pid));
            const used = process.cpuUsage(runnerBefore);
            runnerMs = (used.user + used.system) / 1000;
            if (profile) await server.command({ cmd: 'profile-stop', path: profile });
          },
        });
        http.close();
        samples.push({ round, scenario: scenario.key, side, measurement, ...(cpu ? { cpu } : {}), ...(runnerMs !== undefined ? { runnerMs } : {}) });
        const perOp = cpu && measurement.ok > 0 ? `, server CPU ${(cpu.totalMs / measurement.ok).toFixed(2)} ms/op (main thread ${(cpu.mainMs / measurement.ok).toFixed(2)})` : '';
        const errors = measurement.errors > 0 ? `, ${measurement.errors} errors (${measurement.firstError})` : '';
        log(`round ${round} ${scenario.key.padEnd(23)} ${side.padEnd(14)} ${measurement.perSecond.toFixed(1).padStart(8)}/s${perOp}${errors}`);
      }
    }
  }

  setup.close();
  const summaries = summarise(samples, selected, sides);
  const load = { start: loadAtStart, end: loadavg() };
  const checks = checkTargets(summaries, machine.cores, ceiling);
  const markdown = renderMarkdown({
    machine,
    settings: { rounds, warmupSeconds, seconds },
    summaries,
    checks,
    argon2Ceiling: ceiling,
    wallSeconds: (performance.now() - started) / 1000,
    load,
  });
  process.stdout.write(`\n${markdown}\n`);
  if (write) {
    writeFileSync(`${root}docs/benchmarks.md`, markdown);
    log('Written to docs/benchmarks.md');
  }
  if (profileDir) log(`CPU profiles in ${profileDir}; summarise one with: npx tsx bench/profile-summary.ts <file>`);
  const missed = checks.filter((check) => !check.pass);
  if (machineWasBusy(load, machine.cores)) log(`The machine was busy (1-minute load average ${load.start[0]!.toFixed(2)} at the start, ${load.end[0]!.toFixed(2)} at the end, ${machine.cores} cores): these rates are noise, not a result.`);
  log(missed.length === 0 ? 'All targets met.' : `TARGETS MISSED: ${missed.map((c) => `${c.name}: ${c.measured}, goal ${c.goal}`).join('; ')}`);
} catch (error) {
  log(`Benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 1;
} finally {
  await Promise.all(servers.map((server) => server.stop()));
  await redis?.close();
  log(`Took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
// Missed targets are a result, not a failure; only a broken run exits non-zero.
process.exit(exitCode);
