import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { VaultBackendError } from './backend.js';

export interface FileLockOptions {
  /** A lock older than this is taken to be left by a crashed process. Default 30 s. */
  staleMs?: number;
  /** How long to wait for the lock before failing. Default 10 s. */
  waitMs?: number;
}

/** A held lock; `release` is safe to call once. */
export interface HeldLock {
  release(): Promise<void>;
}

const DEFAULT_STALE_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;

/**
 * Takes an exclusive lock by creating `path` with O_EXCL. The file holds the owner's pid
 * and host name, so a lock left by a dead process on this host is broken at once; any
 * lock older than `staleMs` is broken too, which covers other hosts and pid namespaces.
 */
export async function acquireFileLock(
  path: string,
  options: FileLockOptions = {},
): Promise<HeldLock> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  for (let attempt = 0; ; attempt += 1) {
    const held = await tryCreate(path);
    if (held !== undefined) return held;
    if (await isStale(path, staleMs)) {
      await breakLock(path, staleMs);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new VaultBackendError(
        'lock_busy',
        `timed out waiting for the lock ${path}`,
        `another grantd process holds ${path}; if none is running, delete that file`,
      );
    }
    // Writers hold the lock for one read-modify-write, a few ms; back off a little each time.
    await sleep(Math.min(5 + attempt * 5, 50) + Math.random() * 5);
  }
}

async function tryCreate(path: string): Promise<HeldLock | undefined> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw lockIoError(path, error);
  }
  try {
    await handle.writeFile(`${process.pid}\n${hostname()}\n${PROCESS_ID}\n`, 'utf8');
    const { ino } = await handle.stat();
    await handle.close();
    return { release: () => releaseLock(path, ino) };
  } catch (error) {
    // Our own pid in a lock we never use would hold everyone off for staleMs.
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw lockIoError(path, error);
  }
}

/** Removes the lock only if it is still ours: after 30 s another process may have broken it. */
async function releaseLock(path: string, ino: number): Promise<void> {
  try {
    if ((await stat(path)).ino === ino) await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw lockIoError(path, error);
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  } catch (error) {
    // Gone since we tried to create it: not stale, just try again.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw lockIoError(path, error);
  }
  if (Date.now() - mtimeMs > staleMs) return true;

  const [pidText, host, processId] = text.split('\n');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  // Our pid but not our process: a predecessor, as in a restarted container (pid 1 again).
  if (pid === process.pid) return processId !== PROCESS_ID;
  return !isAlive(pid);
}

/** Tells this process from an earlier one that had the same pid. */
const PROCESS_ID = randomBytes(8).toString('hex');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Moves the stale lock aside (rename is atomic, so of several breakers only one wins) and
 * checks that what moved is still stale. If a live lock was moved instead, because another
 * process broke the stale one and locked in between, it is linked back into place.
 */
async function breakLock(path: string, staleMs: number): Promise<void> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw lockIoError(path, error);
  }
  if (!(await isStale(aside, staleMs))) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

function lockIoError(path: string, cause: unknown): VaultBackendError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
  return new VaultBackendError(
    'file_io',
    `cannot use the lock file ${path}: ${code}`,
    'check that the data folder exists and is writable by grantd',
    cause,
  );
}
