/**
 * One process at a time per embedded store directory. nedb keeps every document in memory and
 * rewrites its datafiles when it compacts, so a second process writing the same files is never seen
 * by the first and is erased by its next compaction: data lost with no error anywhere.
 *
 * The lock is a file created with O_EXCL (`open(path, 'wx')`), which exactly one process can do,
 * holding the owner's pid and host. A lock whose pid is dead on this host is stale (a crash, a kill)
 * and is taken over. Only the process that wins a claim file named after the stale lock's exact
 * bytes may remove it, so of several processes finding the same stale lock exactly one removes it
 * and none can remove a fresh lock by mistake; every one of them then competes on `wx` again.
 *
 * Not proper-lockfile: it decides staleness by a heartbeat mtime, so after a crash the store stays
 * locked for the stale period, and a long event-loop stall makes it declare its own lock compromised.
 */
import { randomUUID, createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'gatehouse.lock';

/** Another process has the store open; the message says which and what to do. */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  readonly lockFile: string;
  constructor(message: string, lockFile: string) {
    super(message);
    this.lockFile = lockFile;
  }
}

interface Owner {
  pid: number;
  host: string;
  since: string;
  /** distinguishes two lock instances of one pid (a container restarted with the same pid) */
  id: string;
}

/**
 * Paths this process holds or is taking. Process-wide on purpose: the lock is about processes, and
 * a second open in this process must be refused rather than mistaken for a stale lock with our pid.
 */
const held = new Set<string>();

export interface StoreLock {
  release(): Promise<void>;
}

/** Takes the lock of `dir` or throws {@link StoreLockedError}; an I/O failure throws as it is. */
export async function lockStore(dir: string): Promise<StoreLock> {
  const path = join(resolve(dir), LOCK_FILE);
  if (held.has(path)) throw new StoreLockedError(`the file store in ${dir} is already open in this process (${process.pid}); close it first`, path);
  held.add(path);
  try {
    return await acquire(dir, path);
  } catch (error) {
    held.delete(path);
    throw error;
  }
}

async function acquire(dir: string, path: string): Promise<StoreLock> {
  const owner: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), id: randomUUID() };
  const content = `${JSON.stringify(owner)}\n`;
  // Each round either takes the lock, refuses, or found a stale lock (removed by this process or
  // another) and tries again; an unreadable lock is looked at again, as it may be written this instant.
  let unreadable = 0;
  for (let round = 0; round < 20; round++) {
    if (await create(path, content)) {
      const onExit = () => releaseSync(path, content);
      process.on('exit', onExit);
      return {
        async release() {
          if (!held.delete(path)) return;
          process.off('exit', onExit);
          if ((await readFile(path, 'utf8').catch(() => '')) === content) await unlink(path).catch(() => undefined);
        },
      };
    }
    const found = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
    if (found === undefined) continue; // released meanwhile
    const other = parse(found);
    if (other === undefined) {
      if (++unreadable > 10) throw new StoreLockedError(`the store lock ${path} cannot be read (${JSON.stringify(printable(found.slice(0, 80)))}); if no Gatehouse process uses ${dir}, delete that file`, path);
      await pause(50);
      continue;
    }
    if (!isStale(other)) throw lockedBy(dir, path, other);
    if (!(await removeStale(path, found))) await pause(10 + round * 10);
  }
  throw new StoreLockedError(
    `could not take over the stale store lock ${path}: another process keeps taking it, or a takeover was interrupted; ` +
      `if no Gatehouse process uses ${dir}, delete ${path} and ${path}.*.stale`,
    path,
  );
}

/** True if this process created the lock file. */
async function create(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

function parse(text: string): Owner | undefined {
  try {
    const value = JSON.parse(text) as Partial<Owner>;
    // A pid of 0 or below would make kill() signal a whole process group; only real pids count.
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) < 1 || typeof value.host !== 'string' || typeof value.id !== 'string') return undefined;
    return { pid: value.pid as number, host: printable(value.host), since: printable(String(value.since)), id: value.id };
  } catch {
    return undefined;
  }
}

/** The lock's text ends up on a terminal: no escape sequences from a file anyone could have edited. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * Stale: held on this host by a process that no longer exists. A lock with our own pid is stale too,
 * since this process opens a directory once at a time (`held`): it is a container's earlier life
 * under the same pid. Another host's lock can never be judged from here.
 */
function isStale(other: Owner): boolean {
  if (other.host !== hostname()) return false;
  if (other.pid === process.pid) return true;
  try {
    process.kill(other.pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the stale lock whose bytes are `stale` if this process wins the claim on it, and says
 * whether it did. Only a claim holder removes a lock, so while this process holds the claim the lock
 * still has those bytes or is gone; a later claimer finds other bytes (they hold a random id, so
 * they never come back) and leaves that lock alone.
 */
async function removeStale(path: string, stale: string): Promise<boolean> {
  const claim = `${path}.${createHash('sha256').update(stale).digest('hex').slice(0, 16)}.stale`;
  if (!(await create(claim, `${process.pid}\n`))) return false;
  try {
    if ((await readFile(path, 'utf8').catch(() => undefined)) === stale) await unlink(path);
    return true;
  } finally {
    await unlink(claim).catch(() => undefined);
  }
}

function lockedBy(dir: string, path: string, other: Owner): StoreLockedError {
  const where = other.host === hostname() ? `process ${other.pid}` : `process ${other.pid} on host ${other.host}`;
  return new StoreLockedError(
    `the file store in ${dir} is in use by another Gatehouse ${where} (since ${other.since}). ` +
      'Only one process at a time may open it: stop the server first, or make the change through the admin API while it runs (docs/admin-api.md). ' +
      `If that process is gone${other.host === hostname() ? '' : ' (it ran on another host)'}, delete ${path}.`,
    path,
  );
}

/** On exit (process.exit, end of the event loop), where nothing asynchronous runs any more. */
function releaseSync(path: string, content: string): void {
  try {
    if (held.delete(path) && readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // Already gone; a lock left behind is stale once this pid is dead.
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
