import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Resolves the master key: the configured one, or in development a key generated once into
 * `{dataDir}/master.key` (mode 0600) so restarts can still read what was encrypted.
 * Production never reaches the generating branch: the configuration loader refuses it.
 */
export async function resolveMasterKey(
  configured: string | undefined,
  dataDir: string,
): Promise<{ key: Buffer; generated: boolean; path?: string }> {
  if (configured) return { key: Buffer.from(configured, 'base64'), generated: false };
  const path = join(dataDir, 'master.key');
  try {
    const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key; restore it or delete it (data encrypted with it is lost)`);
    return { key, generated: false, path };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32);
  await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generated: true, path };
}
