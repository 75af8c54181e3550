import { z } from 'zod';
import { configSchema, secretPaths } from './schema.js';
import { closest } from './similar.js';

/**
 * One thing wrong with the configuration, as an operator needs to read it: which key, where its value
 * came from (`GATEHOUSE_PORT`, `in /etc/gatehouse.json`, `GATEHOUSE_MASTER_KEY is not set`), and what
 * is wrong or what to do.
 */
export interface Problem {
  readonly path?: string;
  readonly source?: string;
  readonly message: string;
}

/** `port (GATEHOUSE_PORT): expected a whole number from 0 to 65535, got "abc"` */
export function formatProblem({ path, source, message }: Problem): string {
  const subject = [path, source && path ? `(${source})` : source].filter(Boolean).join(' ');
  return subject ? `${subject}: ${message}` : message;
}

/** Tells where the value at a dotted path came from, or undefined for a schema default. */
export type SourceOf = (path: string) => string | undefined;

/** Turns zod's issues into problems; an unknown-key issue becomes one problem per key. */
export function issueProblems(issues: readonly z.core.$ZodIssue[], sourceOf: SourceOf): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(at);
      return issue.keys.map((key) => {
        const path = [...at, key].join('.');
        const suggestion = closest(key, known);
        const hint = suggestion ? `; did you mean ${[...at, suggestion].join('.')}?` : '';
        return { path, source: sourceOf(path), message: `unknown key${hint}` };
      });
    }
    const path = at.join('.');
    const got = secretPaths.has(path) ? '' : describeInput(issue.input);
    return [{ path, source: sourceOf(path), message: got ? `${issue.message}, got ${got}` : issue.message }];
  });
}

/**
 * Fallback wording for issues the schema does not word itself (mostly a section given as a
 * non-object, like `"store": "nedb"`); zod's own "Invalid input: ..." reads badly after a key name.
 */
export const issueWording: z.core.$ZodErrorMap = (issue) =>
  issue.code === 'invalid_type' ? `expected ${issue.expected === 'object' ? 'an object' : issue.expected}` : undefined;

function describeInput(input: unknown): string {
  if (input === undefined) return '';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'object' && input !== null) return 'an object';
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys the schema allows at a path, for "did you mean" hints. */
function knownKeys(path: readonly string[]): string[] {
  let node = unwrap(configSchema);
  for (const key of path) {
    if (!(node instanceof z.ZodObject)) return [];
    node = unwrap(node.shape[key]);
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** Sees through `.optional()`, `.default()` and `.prefault()` wrappers to the schema inside. */
function unwrap(node: unknown): unknown {
  while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodPrefault) {
    node = node.unwrap();
  }
  return node;
}
