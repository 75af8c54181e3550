/**
 * CPU time a server process used, read from Linux's /proc. CPU milliseconds per operation are far
 * less sensitive to a noisy, shared machine than operations per second, and split between the main
 * thread (JavaScript) and the other threads (argon2 on libuv's pool, GC helpers) they say where a
 * login's cost lies. Elsewhere than Linux the figures are simply absent.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuTimes {
  /** all threads of the process, ms */
  totalMs: number;
  /** the main (JavaScript) thread, ms */
  mainMs: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a /proc stat file, in ms; fields counted after the `(comm)`, which may hold spaces. */
function statMs(path: string): number {
  const text = readFileSync(path, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the command, field 3 of proc(5) is fields[0]; utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
}

/** The CPU time `pid` has used so far, or `undefined` when /proc cannot tell. */
export function cpuTimes(pid: number | undefined): CpuTimes | undefined {
  if (pid === undefined) return undefined;
  try {
    return { totalMs: statMs(`/proc/${pid}/stat`), mainMs: statMs(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

/** CPU used between two readings. */
export function cpuSpent(before: CpuTimes | undefined, after: CpuTimes | undefined): CpuTimes | undefined {
  if (!before || !after) return undefined;
  return { totalMs: after.totalMs - before.totalMs, mainMs: after.mainMs - before.mainMs };
}
