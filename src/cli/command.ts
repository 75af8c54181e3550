import pino from 'pino';
import type { Config } from '../../config/schema.js';
import type { AppContext } from '../app-context.js';
import type { AuditActor, NewAuditEvent } from '../domain/audit.js';
import { createLogger } from '../logger.js';

/** An option of a command, as `node:util` `parseArgs` declares it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** One command line command (`tenant create`, `migrate`, ...). */
export interface Command {
  /** the words that select it, e.g. `tenant create` */
  name: string;
  /** its arguments, e.g. `--id <id> --name <display name>` */
  synopsis: string;
  /** one line for the command overview */
  summary: string;
  /** further lines of its own help (options explained) */
  details?: string;
  options: Record<string, OptionSpec>;
  /** Runs it; resolves to the exit code, or `'running'` for the server, which exits on a signal. */
  run(config: Config, values: OptionValues): Promise<number | 'running'>;
}

/** Bad arguments: exit code 2, with the message and the usage of the command. */
export class UsageError extends Error {}

/** Who the audit trail says made changes through the command line. */
export const CLI_ACTOR: AuditActor = { type: 'system', id: 'cli', tenant: 'system' };

/** `gatehouse tenant create --id <id> ...` */
export function usageOf(command: Command): string {
  return `Usage: gatehouse ${command.name} ${command.synopsis}`.trimEnd() + (command.details ? `\n\n${command.details}` : '');
}

/** A string option that must be present and not blank. */
export function required(values: OptionValues, name: string, what = `<${name}>`): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`missing --${name} ${what}`);
  return value;
}

/** An optional string option (blank counts as a mistake, not as absent). */
export function optional(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} needs a value`);
  return value;
}

/**
 * Opens the store with a quiet logger on stderr (stdout carries only results, so scripts can read
 * them), runs `work`, and always closes the store: the embedded file store must not stay open.
 */
export async function withApp<T>(config: Config, work: (app: AppContext) => Promise<T>): Promise<T> {
  const logger = createLogger({ env: config.env, log: { level: 'warn' } }, pino.destination(2));
  // Loaded on use: the whole server comes with it, and help or a bad argument should not wait for that.
  const { closeApp, openApp } = await import('../boot.js');
  const app = await openApp(config, logger);
  try {
    return await work(app);
  } finally {
    await closeApp(app);
  }
}

/**
 * Text from the store made safe for a terminal: names set through the API could carry escape
 * sequences that rewrite what an operator sees.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Writes the audit event of a change made from the command line. */
export async function audit(app: AppContext, event: Omit<NewAuditEvent, 'actor'>): Promise<void> {
  await app.audit.record({ ...event, actor: CLI_ACTOR });
}

/**
 * Reads a secret piped to stdin (`--password-stdin`), at most `maxBytes`, without its final line
 * break. Secrets never come from argv: every user of the machine can read argv in `ps`. A terminal
 * would echo what is typed, so stdin must be a pipe or a file.
 */
export async function readSecretFromStdin(maxBytes = 4096): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin reads from a pipe, not a terminal: printf \'%s\' "$PASSWORD" | gatehouse ...');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new UsageError(`the input on stdin is longer than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
