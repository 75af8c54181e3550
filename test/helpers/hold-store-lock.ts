/**
 * A child process for the store lock tests: opens the file store in argv[2], prints `locked` or
 * `refused: <message>`, then holds it until stdin closes and closes it; `exit` in argv[3] leaves
 * with process.exit instead, without closing the store.
 */
import { openNedbStore } from '../../adapters/nedb.js';

const [dir, mode] = process.argv.slice(2);
try {
  const store = await openNedbStore({ dir: dir! });
  console.log('locked');
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  if (mode === 'exit') process.exit(0);
  await store.close();
} catch (error) {
  console.log(`refused: ${(error as Error).message}`);
}
