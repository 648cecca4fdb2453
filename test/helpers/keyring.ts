import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import ts from 'typescript';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** The built vault; child processes cannot load TypeScript on Node 20. */
export const DIST_VAULT = join(ROOT, 'dist', 'src', 'vault', 'vault.js');

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** A Secret Service can be started for a test: Debian gnome-keyring and dbus-user-session. */
export const keyringAvailable =
  hasCommand('dbus-run-session') && hasCommand('gnome-keyring-daemon');
/** GRANTD_REQUIRE_KEYRING=1 turns a missing Secret Service into a failure instead of a skip. */
export const keyringRequired = process.env.GRANTD_REQUIRE_KEYRING === '1';

/**
 * Throws unless `dist/` holds a build of src/vault at least as new as the sources: tests
 * that spawn `node` import the built output (`npm test` builds first).
 */
export function assertVaultBuilt(): void {
  if (!existsSync(DIST_VAULT)) {
    throw new Error(`${DIST_VAULT} is missing: run npm run build first`);
  }
  const srcDir = join(ROOT, 'src', 'vault');
  const distDir = join(ROOT, 'dist', 'src', 'vault');
  for (const file of readdirSync(srcDir).filter((f) => f.endsWith('.ts'))) {
    const built = join(distDir, `${basename(file, '.ts')}.js`);
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(srcDir, file)).mtimeMs) {
      throw new Error(`${built} is older than src/vault/${file}: run npm run build first`);
    }
  }
}

/**
 * Transpiles a TypeScript module whose only runtime imports are node builtins into `dir`,
 * for a child process to import; returns its file URL.
 */
export function transpileForChild(source: string, dir: string): string {
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: source,
  });
  const out = join(dir, `${basename(source, '.ts')}.mjs`);
  writeFileSync(out, outputText);
  return pathToFileURL(out).href;
}

export interface SessionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON the script printed after RESULT_MARKER, if any. */
  result: unknown;
}

/** The script prints this, then its result as JSON, on one line of stdout. */
export const RESULT_MARKER = 'GRANTD_RESULT ';

/**
 * Runs `node script ...args` in a private D-Bus session where gnome-keyring provides the
 * Secret Service. HOME (and so the keyring files) is `home`, never the user's own. With
 * `unlock`, the login keyring is created or unlocked with a fixed password first; without,
 * gnome-keyring starts on demand and any keyring it has stays locked.
 */
export async function runInKeyringSession(
  script: string,
  { home, unlock, args = [] }: { home: string; unlock: boolean; args?: string[] },
): Promise<SessionRun> {
  const start = unlock
    ? 'echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null; '
    : '';
  const child = spawn(
    'dbus-run-session',
    ['--', 'sh', '-c', `${start}exec "$0" "$@"`, process.execPath, script, ...args],
    {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        XDG_DATA_HOME: join(home, '.local', 'share'),
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_CACHE_HOME: join(home, '.cache'),
        XDG_RUNTIME_DIR: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];

  // gnome-keyring, started by D-Bus, writes to the same stdout: find our line.
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  const result: unknown =
    line === undefined ? undefined : JSON.parse(line.slice(RESULT_MARKER.length));
  return { code, stdout, stderr, result };
}
