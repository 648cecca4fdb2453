import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { VaultBackendError, type VaultBackend } from './backend.js';
import { acquireFileLock, type FileLockOptions } from './file-lock.js';
import {
  PREFIX_BYTES,
  VAULT_FILE,
  decodeVault,
  encodeVault,
  nonceOf,
  type DecodeProblem,
} from './file-format.js';

export { VAULT_FILE } from './file-format.js';

export interface FileBackendOptions {
  /** The data folder; the vault is `${home}/vault.enc`. */
  home: string;
  /** 32 bytes. */
  key: Buffer;
  /** Where the key came from (`env:NAME`, `file:PATH`, a path), for error messages. */
  keySource: string;
  lock?: FileLockOptions;
}

/** The decrypted file, remembered with what identifies the version of the file it came from. */
interface Snapshot {
  stamp: string;
  nonce: Buffer;
  entries: ReadonlyMap<string, string>;
}

/**
 * All entries in one AES-256-GCM encrypted file. Every write re-reads the file under an
 * exclusive lock, so the daemon and CLI processes sharing a data folder never lose each
 * other's writes, and replaces it atomically. A file that does not decrypt and parse is
 * never written over: the operator may still recover it with the right key or a backup.
 */
export class FileBackend implements VaultBackend {
  readonly kind = 'file' as const;
  /** The vault file. */
  readonly path: string;
  readonly #key: Buffer;
  readonly #keySource: string;
  readonly #lockPath: string;
  readonly #lockOptions: FileLockOptions | undefined;
  #snapshot: Snapshot | undefined;
  /** Writes from this process queue here first, so they do not spin on the lock file. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: FileBackendOptions) {
    this.path = join(options.home, VAULT_FILE);
    this.#key = options.key;
    this.#keySource = options.keySource;
    this.#lockPath = `${this.path}.lock`;
    this.#lockOptions = options.lock;
  }

  /** Creates the data folder if needed (owner-only) and returns the backend. */
  static async open(options: FileBackendOptions): Promise<FileBackend> {
    try {
      await mkdir(options.home, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw ioError(`cannot create the data folder ${options.home}`, error);
    }
    return new FileBackend(options);
  }

  async get(id: string): Promise<string | undefined> {
    return (await this.#read()).get(id);
  }

  set(id: string, value: string): Promise<void> {
    return this.#update((entries) => {
      entries.set(id, value);
      return true;
    });
  }

  delete(id: string): Promise<void> {
    return this.#update((entries) => entries.delete(id));
  }

  /** The current entries; an unchanged file is served from the last decryption. */
  async #read(): Promise<ReadonlyMap<string, string>> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw ioError(`cannot open ${this.path}`, error);
      }
      this.#snapshot = undefined;
      return new Map();
    }
    try {
      return await this.#readOpen(handle);
    } finally {
      await handle.close();
    }
  }

  async #readOpen(handle: FileHandle): Promise<ReadonlyMap<string, string>> {
    let data: Buffer;
    let stamp: string;
    try {
      stamp = stampOf(await handle.stat({ bigint: true }));
      // Reading through the open handle keeps stamp and bytes from the same file even when
      // another process renames a new vault into place meanwhile.
      const cached = this.#snapshot;
      if (cached !== undefined && cached.stamp === stamp) {
        const prefix = Buffer.alloc(PREFIX_BYTES);
        await handle.read(prefix, 0, PREFIX_BYTES, 0);
        // The stamp alone can repeat (inode reuse within the clock's granularity); the
        // nonce is fresh for every write.
        if (nonceOf(prefix)?.equals(cached.nonce) === true) return cached.entries;
      }
      data = await handle.readFile();
    } catch (error) {
      throw ioError(`cannot read ${this.path}`, error);
    }

    const decoded = decodeVault(data, this.#key);
    if (!decoded.ok) throw this.#corrupt(decoded.problem);
    this.#snapshot = { stamp, nonce: Buffer.from(nonceOf(data) ?? []), entries: decoded.entries };
    return decoded.entries;
  }

  /** Applies `change` under the lock; it returns false when there is nothing to write. */
  #update(change: (entries: Map<string, string>) => boolean): Promise<void> {
    const run = this.#queue.then(() => this.#lockedUpdate(change));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #lockedUpdate(change: (entries: Map<string, string>) => boolean): Promise<void> {
    const lock = await acquireFileLock(this.#lockPath, this.#lockOptions);
    try {
      // Re-read under the lock: another process may have written since our last read.
      const entries = new Map(await this.#read());
      if (!change(entries)) return;
      await this.#write(entries);
    } finally {
      await lock.release();
    }
  }

  /** Temp file in the same folder, fsync, rename over, fsync the folder: all or nothing. */
  async #write(entries: ReadonlyMap<string, string>): Promise<void> {
    const data = encodeVault(entries, this.#key);
    const temp = join(
      dirname(this.path),
      `.${VAULT_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw ioError(`cannot write ${this.path}`, error);
    }
    await syncFolder(dirname(this.path));

    // We hold the lock, so the file at the path is the one just written.
    try {
      const stamp = stampOf(await stat(this.path, { bigint: true }));
      this.#snapshot = { stamp, nonce: Buffer.from(nonceOf(data) ?? []), entries };
    } catch {
      this.#snapshot = undefined;
    }
  }

  #corrupt(problem: DecodeProblem): VaultBackendError {
    const restore = `restore ${this.path} from a backup; grantd never writes over a damaged vault`;
    switch (problem) {
      case 'auth':
        return new VaultBackendError(
          'file_corrupt',
          `${this.path} does not decrypt with the key from ${this.#keySource}: a different key, or the file was modified`,
          `check that vault.key gives the key this vault was written with; otherwise ${restore}`,
        );
      case 'unknown_version':
        return new VaultBackendError(
          'file_corrupt',
          `${this.path} was written in a format this grantd does not know`,
          'run the grantd version that wrote this vault, or a newer one',
        );
      case 'truncated':
        return new VaultBackendError('file_corrupt', `${this.path} is truncated`, restore);
      case 'not_a_vault':
        return new VaultBackendError('file_corrupt', `${this.path} is not a grantd vault`, restore);
      case 'content':
        return new VaultBackendError(
          'file_corrupt',
          `${this.path} decrypts but its contents are damaged`,
          restore,
        );
    }
  }
}

/** What changes whenever the file is replaced or modified. */
function stampOf(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/**
 * Makes the rename durable across a power cut. Best effort: the new file is already in
 * place, so reporting the write as failed would be wrong, and Windows cannot open a
 * folder for fsync at all.
 */
async function syncFolder(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch {
    // See above: nothing better to do than carry on.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function ioError(message: string, cause: unknown): VaultBackendError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
  return new VaultBackendError(
    'file_io',
    `${message}: ${code}`,
    'check that the data folder exists and that grantd can read and write it',
    cause,
  );
}
