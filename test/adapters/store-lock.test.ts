import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openNedbStore } from '../../adapters/nedb.js';
import { LOCK_FILE, StoreLockedError } from '../../adapters/store-lock.js';
import { StoreUnavailableError, type Store } from '../../adapters/store.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-lock-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

const lockOf = (pid: number, host = hostname()) => JSON.stringify({ pid, host, since: '2026-01-01T00:00:00.000Z', id: randomUUID() });

/** A child process that opens the store in `dir` (test/helpers/hold-store-lock.ts) and holds it until its stdin ends. */
function holder(dir: string, mode: 'close' | 'exit' = 'close') {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hold-store-lock.ts', dir, mode], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const answered = new Promise<string>((resolve) => {
    const check = () => (output.includes('\n') ? resolve(output.trim()) : undefined);
    child.stdout.on('data', check);
    child.on('exit', () => resolve(output.trim()));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, answered, exited, release: () => child.stdin.end() };
}

/** Settles every open; expects exactly one to have opened, closes it, and returns the refusals. */
async function exactlyOne(opens: Promise<Store>[]): Promise<unknown[]> {
  const results = await Promise.allSettled(opens);
  const opened = results.filter((result) => result.status === 'fulfilled');
  expect(opened).toHaveLength(1);
  await opened[0]!.value.close();
  return results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
}

describe('file store lock', () => {
  it('refuses a second opener, saying who holds it and what to do, and admits it once the first closes', async () => {
    const dir = await tempDir();
    const first = await openNedbStore({ dir });
    await first.collection('notes').insertOne({ _id: 'kept' });
    const refusal = await openNedbStore({ dir }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(StoreLockedError);
    expect((refusal as Error).message).toBe(`the file store in ${dir} is already open in this process (${process.pid}); close it first`);
    // The refused opener touched nothing: the holder's data and lock are as they were.
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await first.close();
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
    const second = await openNedbStore({ dir });
    expect(await second.collection('notes').findOne({ _id: 'kept' })).toEqual({ _id: 'kept' });
    await second.close();
  });

  it('is held across processes: a child holds it, this process is refused, then admitted after the child closes', async () => {
    const dir = await tempDir();
    const child = holder(dir);
    expect(await child.answered).toBe('locked');
    const refusal = await openNedbStore({ dir }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(StoreLockedError);
    expect((refusal as Error).message).toContain(`the file store in ${dir} is in use by another Gatehouse process ${child.child.pid} (since 20`);
    expect((refusal as Error).message).toContain('stop the server first, or make the change through the admin API');
    child.release();
    await child.exited;
    await (await openNedbStore({ dir })).close();
  });

  it('is released when the holder calls process.exit without closing, and taken over after it is killed', async () => {
    const dir = await tempDir();
    const exiting = holder(dir, 'exit');
    expect(await exiting.answered).toBe('locked');
    exiting.release();
    await exiting.exited;
    expect(await readdir(dir)).not.toContain(LOCK_FILE);

    const killed = holder(dir);
    expect(await killed.answered).toBe('locked');
    killed.child.kill('SIGKILL');
    await killed.exited;
    // Left behind by the dead process, and stale because its pid is gone.
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: killed.child.pid });
    const store = await openNedbStore({ dir });
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await store.close();
  });

  it('takes over a stale lock (the pid of a dead process) and leaves nothing of the takeover behind', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), lockOf(await deadPid()));
    const store = await openNedbStore({ dir });
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(await readdir(dir)).toEqual([LOCK_FILE]);
    await store.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock with its own pid that it does not hold (a container restarted under the same pid)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), lockOf(process.pid));
    await (await openNedbStore({ dir })).close();
  });

  it('lets exactly one of many parallel openers win, on a free directory and on a stale lock', async () => {
    const free = await tempDir();
    const refusals = await exactlyOne(Array.from({ length: 8 }, () => openNedbStore({ dir: free })));
    for (const refusal of refusals) expect(refusal).toBeInstanceOf(StoreLockedError);

    const stale = await tempDir();
    await writeFile(join(stale, LOCK_FILE), lockOf(await deadPid()));
    await exactlyOne(Array.from({ length: 8 }, () => openNedbStore({ dir: stale })));
    expect(await readdir(stale)).toEqual([]);
  });

  it('lets exactly one of several processes win a stale lock', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), lockOf(await deadPid()));
    const children = Array.from({ length: 4 }, () => holder(dir));
    try {
      const answers = await Promise.all(children.map((child) => child.answered));
      expect(answers.filter((answer) => answer === 'locked')).toHaveLength(1);
      for (const answer of answers.filter((answer) => answer !== 'locked')) expect(answer).toMatch(/^refused: .*in use by another Gatehouse process \d+/);
    } finally {
      children.forEach((child) => child.release());
      await Promise.all(children.map((child) => child.exited));
    }
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
  }, 60_000);

  it('never takes over a lock it cannot judge: another host, a missing or non-positive pid, garbage', async () => {
    const dir = await tempDir();
    const path = join(dir, LOCK_FILE);
    await writeFile(path, lockOf(await deadPid(), 'other-host.example'));
    await expect(openNedbStore({ dir })).rejects.toThrow(/process \d+ on host other-host\.example .* delete /);
    for (const content of [lockOf(0), lockOf(-1), JSON.stringify({ host: hostname(), id: 'x' }), 'not json', '', '\u001b[2J'.repeat(100)]) {
      await writeFile(path, content);
      const refusal = await openNedbStore({ dir }).catch((error: unknown) => error);
      expect(refusal, content).toBeInstanceOf(StoreLockedError);
      expect((refusal as Error).message).toContain(`the store lock ${path} cannot be read`);
      expect((refusal as Error).message).not.toContain('\u001b');
      expect(await readFile(path, 'utf8')).toBe(content);
    }
  });

  it('leaves the memory store alone: no lock, any number of them', async () => {
    const stores = await Promise.all([openNedbStore({}), openNedbStore({})]);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('fails as unavailable, not as locked, when the lock cannot be read or written', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, LOCK_FILE));
    await expect(openNedbStore({ dir })).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
