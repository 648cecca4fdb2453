import { spawn } from 'node:child_process';

/** How long an opener may run before it counts as having launched the browser. */
const LAUNCH_GRACE_MS = 3_000;

/**
 * Opens `url` in the user's browser with the platform's opener: `open` on
 * macOS, the URL handler `start` uses on Windows, `xdg-open` elsewhere. Resolves false when there
 * is none or it failed, so the caller falls back to printing the URL. On
 * Linux without a display, xdg-open would start a text browser in this very
 * terminal, so it is not tried at all.
 */
export async function openInBrowser(
  url: string,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  const command = openerFor(url, platform, env);
  if (command === undefined) return false;
  return new Promise<boolean>((resolve) => {
    let child;
    try {
      child = spawn(command.file, command.args, {
        stdio: 'ignore',
        detached: platform !== 'win32',
      });
    } catch {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => resolve(true), LAUNCH_GRACE_MS);
    timer.unref();
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
    child.unref();
  });
}

/** The opener command for a platform; undefined where none can work. */
export function openerFor(
  url: string,
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): { file: string; args: string[] } | undefined {
  if (platform === 'darwin') return { file: 'open', args: [url] };
  if (platform === 'win32') {
    // What `start` does, without cmd.exe: cmd would split the URL at each & and
    // expand %NAME% sequences inside it.
    return { file: 'rundll32', args: ['url.dll,FileProtocolHandler', url] };
  }
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  return { file: 'xdg-open', args: [url] };
}
