/**
 * Gatehouse configuration: load it once in `main` with `loadConfig()`, then pass the frozen
 * `Config` down. See docs/configuration.md for every key.
 */
export { ConfigError, loadConfig, envVars, type LoadConfigOptions, type EnvVar, type EnvKind } from './load.js';
export { configSchema, storeKinds, logLevels, envNames, type Config, type ConfigInput } from './schema.js';
