import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/** Expands a leading `~` to the user's home directory. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/**
 * The platform's per-user data directory for grantd: XDG on Linux and other
 * Unix systems, Application Support on macOS, LOCALAPPDATA on Windows.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = homedir();
  switch (platform()) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'grantd');
    case 'win32':
      return join(env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'grantd');
    default:
      return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'grantd');
  }
}
