import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { EXIT, ExitError } from './exit.js';

/** Loads the config for a command, turning every problem into one exit. */
export function loadConfigForCli(file: string | undefined): LoadedConfig {
  try {
    return loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) throw new ExitError(EXIT.config, `grantd: ${error.message}`);
    throw error;
  }
}
