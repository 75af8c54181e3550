import { configFileVar, envVars, readEnvironment } from './env.js';
import { readConfigFile } from './file.js';
import { formatProblem, issueProblems, issueWording, type Problem } from './problems.js';
import { publicUrlPortWarning, publicUrlProblem } from './public-url.js';
import { checkRules, resolveDefaults } from './rules.js';
import { configSchema, type Config, type ConfigInput } from './schema.js';
import { deepFreeze, mergeTrees, paths } from './tree.js';

export { envVars, type EnvKind, type EnvVar } from './env.js';

/**
 * The configuration cannot be used. The message is meant for the operator as-is: it lists every
 * problem at once (so one restart fixes them all), each with its key, where the value came from and
 * what is wrong. `main` prints it and exits with code 2.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One line per problem, without the heading. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((line) => `  - ${line}`).join('\n')}`);
    this.problems = Object.freeze([...problems]);
  }
}

/** Where `loadConfig` reads from. Every field is optional; tests pass `env` and `overrides`. */
export interface LoadConfigOptions {
  /** The environment to read `NODE_ENV`, `PORT` and `GATEHOUSE_*` from. */
  env?: NodeJS.ProcessEnv;
  /** A JSON config file; when absent, `GATEHOUSE_CONFIG` names it, and without that there is none. */
  file?: string;
  /** Highest-precedence values, for tests and embedding. */
  overrides?: ConfigInput;
  /** Called for non-fatal findings such as a misspelled variable; defaults to a process warning. */
  onWarning?: (message: string) => void;
}

/**
 * Builds the configuration from schema defaults, then the config file, then the environment, then
 * `overrides`, each layer winning over the one before. Validates it, fills the defaults that depend on
 * the environment, applies the production rules, and returns it deep-frozen.
 *
 * @throws ConfigError listing every problem found.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'GatehouseConfigWarning'));

  const problems: Problem[] = [];
  const sources = new Map<string, string>();

  const fileName = options.file ?? nonEmpty(env[configFileVar]);
  let fileValues: Record<string, unknown> = {};
  if (fileName !== undefined) {
    const layer = readConfigFile(fileName, options.file === undefined ? configFileVar : undefined);
    problems.push(...layer.problems);
    fileValues = withoutEnvKey(layer.values, layer.file, problems);
    for (const path of paths(fileValues)) sources.set(path, `in ${layer.file}`);
  }

  const envLayer = readEnvironment(env);
  problems.push(...envLayer.problems);
  envLayer.warnings.forEach((message) => warn(message));
  for (const [path, name] of envLayer.sources) sources.set(path, name);

  const overrides = (options.overrides ?? {}) as Record<string, unknown>;
  for (const path of paths(overrides)) sources.set(path, 'in overrides');

  const sourceOf = (path: string) => findSource(sources, path);
  const merged = mergeTrees(mergeTrees(fileValues, envLayer.values), overrides);
  const result = configSchema.safeParse(merged, { reportInput: true, error: issueWording });
  if (!result.success) problems.push(...issueProblems(result.error.issues, sourceOf));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems.map(formatProblem));

  // Reported together with the rules, so an operator sees every problem of a deployment at once.
  const urlProblem = publicUrlProblem(result.data, sourceOf);
  const config = resolveDefaults(result.data);
  const ruleProblems = [...(urlProblem ? [urlProblem] : []), ...checkRules(config, sourceOf)];
  if (ruleProblems.length > 0) throw new ConfigError(ruleProblems.map(formatProblem));
  const portWarning = publicUrlPortWarning(config, sourceOf);
  if (portWarning) warn(portWarning);
  return deepFreeze(config);
}

/**
 * The mode is read from NODE_ENV only: libraries read NODE_ENV directly, and a file saying
 * "production" while NODE_ENV says otherwise would leave them and Gatehouse disagreeing.
 */
function withoutEnvKey(values: Record<string, unknown>, file: string, problems: Problem[]): Record<string, unknown> {
  if (!Object.hasOwn(values, 'env')) return values;
  problems.push({ path: 'env', source: `in ${file}`, message: 'cannot be set in a config file; set NODE_ENV instead' });
  const { env: _ignored, ...rest } = values;
  return rest;
}

/**
 * The layer that supplied a key. Defaults are always valid, so a key with a problem and no layer is
 * a required value nobody supplied: name the variable that would supply it.
 */
function findSource(sources: ReadonlyMap<string, string>, path: string): string | undefined {
  // An element of a list (`proxy.trustedNetworks.1`) came from where the list came from.
  for (let at = path; at !== ''; at = at.includes('.') ? at.slice(0, at.lastIndexOf('.')) : '') {
    const source = sources.get(at);
    if (source !== undefined) return source;
  }
  const variable = envVars.find((entry) => entry.path === path);
  return variable ? `${variable.name} is not set` : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
