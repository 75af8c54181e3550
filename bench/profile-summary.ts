/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`) as text: busy time by package,
 * and the functions with the most self and inclusive time. Idle time is left out, so percentages
 * are shares of the time the main thread was busy (argon2 runs on libuv threads and is not in it).
 *
 *   npx tsx bench/profile-summary.ts bench/profiles/gatehouse-*.cpuprofile [--top 25] [--filter src/]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, filter: { type: 'string' } } });
const top = Number(values.top);

/** `node_modules/<pkg>`, Gatehouse's own directories, node internals, or V8's pseudo-frames. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const own = /\/(src|adapters|config|bench)\//.exec(url);
  return own ? `gatehouse ${own[1]}/` : url;
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|src|adapters|config|bench)\//, '$1/');
}

function summarise(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const key = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id)!;
    const delta = (profile.timeDeltas[index] ?? 0) / 1000;
    if (node.callFrame.functionName === '(idle)') return;
    busy += delta;
    self.set(key(node), (self.get(key(node)) ?? 0) + delta);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + delta);
    // Each function once per sample, however often it recurs on the stack.
    const seen = new Set<string>();
    for (let current: ProfileNode | undefined = node; current; current = byId.get(parent.get(current.id) ?? -1)) {
      const k = key(current);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + delta);
    }
  });

  const print = (title: string, entries: Map<string, number>) => {
    console.log(`\n${title}`);
    const rows = [...entries].filter(([name]) => !values.filter || name.includes(values.filter)).sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [name, ms] of rows) console.log(`${ms.toFixed(0).padStart(8)} ms ${((ms / busy) * 100).toFixed(1).padStart(5)} %  ${name}`);
  };
  console.log(`\n=== ${file}: ${busy.toFixed(0)} ms busy on the main thread`);
  print('Self time by package', packages);
  print('Self time by function', self);
  print('Inclusive time by function', inclusive);
}

if (positionals.length === 0) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile>... [--top N] [--filter text]');
for (const file of positionals) summarise(file);
