import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The folder rules of docs/architecture.md, checked on the source: folders depend on each other
 * without cycles, `domain/` and `authn/` stay free of HTTP and of the provider, and the store
 * adapters have no file-level cycles. Type-only and dynamic imports count: they are dependencies too.
 */

const root = process.cwd();

/** The folders whose dependencies are checked; a file of src/ outside them is a node of its own. */
const folders = ['src/domain', 'src/authn', 'src/oidc', 'src/admin', 'src/interactions', 'src/tenancy', 'src/http', 'src/account', 'src/cli', 'src/messaging', 'src/metrics', 'src/saml', 'adapters', 'config'];

/**
 * Folder edges left out of the cycle check, each with the reason. Keep this empty: an entry is
 * a known defect with an owner, not a permission.
 */
const allowedEdges: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `import … from`, `export … from`, `import '…'` and `import('…')`, type-only ones included. */
const importPatterns = [/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];

interface Import {
  from: string;
  /** a repository-relative .ts path, or the package name */
  to: string;
  local: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = importPatterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1]!));
  return specifiers.map((specifier) => {
    if (!specifier.startsWith('.')) return { from: file, to: specifier, local: false };
    const to = normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts');
    return { from: file, to: relative('.', to), local: true };
  });
}

function folderOf(file: string): string {
  return folders.find((folder) => file.startsWith(`${folder}/`)) ?? file;
}

const files = [...sourceFiles('src'), ...sourceFiles('adapters'), ...sourceFiles('config')];
const imports = files.flatMap(importsOf);
const localImports = imports.filter((edge) => edge.local);

/**
 * The cycles of a directed graph: its strongly connected components of more than one node
 * (Tarjan's algorithm), each shown as the shortest cycle through each of its members.
 */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  // For the message: the shortest way round through each member, each cycle listed once.
  const found = new Map<string, string[]>();
  for (const component of components) {
    const members = new Set(component);
    for (const start of [...component].sort()) {
      const cycle = shortestCycle(graph, members, start);
      const key = [...cycle.slice(1)].sort().join(' ');
      if (!found.has(key)) found.set(key, cycle);
    }
  }
  return [...found.values()];
}

function shortestCycle(graph: Map<string, Set<string>>, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const node = queue.shift()!;
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Each cycle as `a -> b -> a`, with the imports that make each step. */
function describeCycles(found: string[][], step: (from: string, to: string) => Import[]): string {
  return found
    .map((cycle) => {
      const steps = cycle.slice(1).map((to, i) => {
        const from = cycle[i]!;
        return `    ${from} -> ${to}: ${step(from, to).map((edge) => `${edge.from} imports ${edge.to}`).join('; ')}`;
      });
      return [`  ${cycle.join(' -> ')}`, ...steps].join('\n');
    })
    .join('\n');
}

function graphOf(edges: Array<[string, string]>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    if (from === to) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  return graph;
}

describe('import structure', () => {
  it('reads the imports of every source file', () => {
    expect(files).toContain('src/domain/clients.ts');
    expect(files).toContain('adapters/nedb-collection.ts');
    // Every local import names a file that exists, so none is lost to a wrong resolution.
    const missing = localImports.filter((edge) => !files.includes(edge.to));
    expect(missing, JSON.stringify(missing)).toEqual([]);
    expect(localImports.some((edge) => edge.from === 'src/domain/clients.ts')).toBe(true);
  });

  it('has no cycles between folders', () => {
    const folderEdge = (edge: Import) => `${folderOf(edge.from)} -> ${folderOf(edge.to)}`;
    const counted = localImports.filter((edge) => !(folderEdge(edge) in allowedEdges));
    const found = cycles(graphOf(counted.map((edge) => [folderOf(edge.from), folderOf(edge.to)])));
    const step = (from: string, to: string) => counted.filter((edge) => folderOf(edge.from) === from && folderOf(edge.to) === to);
    expect(found, `folder-level import cycles:\n${describeCycles(found, step)}`).toEqual([]);
  });

  it('keeps domain/ and authn/ free of HTTP, the provider and the folders above them', () => {
    const forbiddenPackages = /^(?:koa(?:-.*)?|@koa\/.*|oidc-provider)$/;
    const forbiddenFolders = new Set(['src/http', 'src/oidc', 'src/admin', 'src/tenancy', 'src/interactions']);
    const offending = imports
      .filter((edge) => ['src/domain', 'src/authn'].includes(folderOf(edge.from)))
      .filter((edge) => (edge.local ? forbiddenFolders.has(folderOf(edge.to)) : forbiddenPackages.test(edge.to)))
      .map((edge) => `${edge.from} imports ${edge.to}`);
    expect(offending).toEqual([]);
  });

  it('has no cycles between the files of adapters/', () => {
    const inAdapters = localImports.filter((edge) => folderOf(edge.from) === 'adapters' && folderOf(edge.to) === 'adapters');
    const found = cycles(graphOf(inAdapters.map((edge) => [edge.from, edge.to])));
    const step = (from: string, to: string) => inAdapters.filter((edge) => edge.from === from && edge.to === to);
    expect(found, `file-level import cycles in adapters/:\n${describeCycles(found, step)}`).toEqual([]);
  });
});
