/**
 * Reads everything a running Gatehouse keeps, for tests that must prove something is NOT kept
 * (a token, a deleted tenant's data). The collections are found in the source (every
 * `collection('name')` the code opens, plus those that have indexes), so a new collection is
 * scanned without this file knowing its name.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { indexes } from '../../adapters/indexes.js';
import type { Doc, Store } from '../../adapters/store.js';

const root = new URL('../../', import.meta.url).pathname;

export async function collectionNames(): Promise<string[]> {
  const names = new Set(Object.keys(indexes));
  for (const dir of ['src', 'adapters']) {
    for (const file of await readdir(join(root, dir), { recursive: true })) {
      if (!file.endsWith('.ts')) continue;
      const text = await readFile(join(root, dir, file), 'utf8');
      for (const match of text.matchAll(/collection(?:<[^>()]*>)?\('([a-z_]+)'\)/g)) names.add(match[1]!);
    }
  }
  return [...names].sort();
}

/** Every stored document of every collection, with its collection's name. */
export async function everyDocument(store: Store): Promise<Array<{ collection: string; doc: Doc; text: string }>> {
  const all: Array<{ collection: string; doc: Doc; text: string }> = [];
  for (const collection of await collectionNames()) {
    for (const doc of await store.collection(collection).find({})) all.push({ collection, doc, text: JSON.stringify(doc) });
  }
  return all;
}
