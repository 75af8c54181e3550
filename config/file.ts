import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Problem } from './problems.js';
import { isPlainObject } from './tree.js';

/** What a config file contributes: its values, and its absolute path for error messages. */
export interface FileLayer {
  readonly file: string;
  readonly values: Record<string, unknown>;
  readonly problems: Problem[];
}

/**
 * Reads a JSON config file. A file that was named but cannot be read is an error, never "no file":
 * starting with defaults when the operator pointed at their production settings would be worse.
 * `namedBy` says who chose the file (`GATEHOUSE_CONFIG`), so the message points at the right place.
 */
export function readConfigFile(name: string, namedBy?: string): FileLayer {
  const file = resolve(name);
  const source = namedBy ? `config file ${file} (from ${namedBy})` : `config file ${file}`;
  const fail = (message: string): FileLayer => ({ file, values: {}, problems: [{ source, message }] });

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('not found');
    if (code === 'EISDIR') return fail('is a directory, expected a JSON file');
    if (code === 'EACCES') return fail('cannot be read: permission denied');
    return fail(`cannot be read: ${(error as Error).message}`);
  }

  let parsed: unknown;
  try {
    // A UTF-8 byte order mark is valid in a file but not in JSON.parse's input.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return fail(`is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) return fail('must contain a JSON object at the top level');
  return { file, values: parsed, problems: [] };
}
