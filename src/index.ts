/**
 * grantd as a library: start the daemon in-process (tests, embedding) and load
 * its configuration. The CLI in `cli/` is built on these.
 */
export { startDaemon } from './daemon/daemon.js';
export type { Daemon } from './daemon/daemon.js';
export { loadConfig, buildConfig } from './config/load.js';
export type { LoadedConfig, LoadOptions } from './config/load.js';
export type { Config, ConfigInput } from './config/schema.js';
export { configSchema } from './config/schema.js';
export { createLogger } from './log/logger.js';
export type { Logger, LoggerOptions } from './log/logger.js';
export { ERROR_CATALOG, GrantdError, ConfigError } from './errors.js';
export type { ErrorCode } from './errors.js';
