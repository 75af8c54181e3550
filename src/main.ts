#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { StoreLockedError } from '../adapters/store-lock.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { UsageError, usageOf, type Command, type OptionSpec, type OptionValues } from './cli/command.js';
import { commands, overview } from './cli/index.js';
import { AppError } from './errors.js';

const globalOptions: Record<string, OptionSpec> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };

/** Every option of every command: the lenient first pass must know which ones take a value. */
const anyOption: Record<string, OptionSpec> = Object.assign({}, globalOptions, ...commands.map((command) => command.options));

/** What the store says about bad input the operator typed (a taken id, a malformed one): exit 2. */
const badInputCodes = new Set(['invalid_request', 'conflict', 'not_found', 'tenant_not_found']);

/**
 * The command the leading words name (`tenant create`, `migrate`), and the words left over. No
 * command is a usage error rather than `start`: a server that starts on a bare `gatehouse` surprises
 * whoever only wanted to see what the tool does, and exit code 2 makes an old script or unit that
 * relied on it fail visibly instead of exiting without a server.
 */
function findCommand(words: string[]): { command: Command; extra: string[] } {
  const [first, second] = words;
  if (first === undefined) throw new UsageError('no command given; to run the server: gatehouse start');
  const two = commands.find((command) => command.name === `${first} ${second}`);
  if (two) return { command: two, extra: words.slice(2) };
  const one = commands.find((command) => command.name === first);
  if (one) return { command: one, extra: words.slice(1) };
  const group = commands.filter((command) => command.name.startsWith(`${first} `));
  if (group.length) {
    throw new UsageError(`${second === undefined ? 'missing' : `unknown`} ${first} command${second === undefined ? '' : ` "${second}"`}; one of: ${group.map((command) => command.name).join(', ')}`);
  }
  throw new UsageError(`unknown command "${first}"`);
}

/** Parses the command line and runs one command; resolves to the exit code, or -1 while the server runs. */
async function main(argv: string[]): Promise<number> {
  let usage = overview();
  try {
    const lenient = parseArgs({ args: argv, allowPositionals: true, strict: false, options: anyOption });
    const help = lenient.values['help'] === true;
    if (help && lenient.positionals.length === 0) {
      console.log(overview());
      return 0;
    }
    const { command, extra } = findCommand(lenient.positionals);
    usage = usageOf(command);
    if (help) {
      console.log(usage);
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...globalOptions, ...command.options } });
    } catch (error) {
      const unknown = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec((error as Error).message)?.[1] : undefined;
      throw new UsageError(unknown ? `unknown option ${unknown} for "${command.name}"` : (error as Error).message);
    }
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const { config: file, help: _help, ...values } = parsed.values as OptionValues;
    const config = loadConfig(typeof file === 'string' ? { file } : {});
    const code = await command.run(config, values);
    return code === 'running' ? -1 : code;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof StoreLockedError) {
      // Not a usage problem: the same command works once the server is stopped (EX_TEMPFAIL).
      console.error(`gatehouse: ${error.message}`);
      return 75;
    }
    if (error instanceof UsageError || (error instanceof AppError && badInputCodes.has(error.code))) {
      console.error(`gatehouse: ${error.message}\n\n${usage}`);
      return 2;
    }
    console.error(`gatehouse: ${(error as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
});
