import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, CommonJS run with `eval`: a separate file would not exist when
 * running from TypeScript sources under vitest. It uses the synchronous keyring calls,
 * which is safe on its own thread.
 */
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { Entry } = require(workerData.keyringPath);
// Never the kernel keyutils store: memory only, lost at reboot, blocked by Docker's seccomp.
const options = { linux: { store: 'secret-service' } };
parentPort.on('message', ({ seq, op, service, account, value }) => {
  let reply;
  try {
    const entry = new Entry(service, account, options);
    if (op === 'get') reply = { seq, ok: true, value: entry.getPassword() };
    else if (op === 'set') reply = { seq, ok: true, value: entry.setPassword(value) };
    else reply = { seq, ok: true, value: entry.deleteCredential() };
  } catch (error) {
    reply = { seq, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort.postMessage(reply);
});
`;

export type KeyringOp = 'get' | 'set' | 'delete';

export interface KeyringRequest {
  op: KeyringOp;
  service: string;
  account: string;
  value?: string;
}

interface Reply {
  seq: number;
  ok: boolean;
  value?: unknown;
  message?: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** A keyring call that failed in the platform store; the message is the store's. */
export class KeyringCallError extends Error {
  override name = 'KeyringCallError';
}

/** A keyring call that did not answer in time. */
export class KeyringTimeoutError extends Error {
  override name = 'KeyringTimeoutError';
}

/**
 * Runs keyring calls on a worker thread. Measured with @napi-rs/keyring 2.1.2 on Linux:
 * even `new AsyncEntry()` talks to D-Bus synchronously, so a Secret Service that does not
 * answer froze the event loop for the D-Bus reply timeout (25 s), and a bus that accepts
 * but never answers froze it for good; its async calls also hold a libuv pool thread,
 * shared with fs and dns, while they hang. Here a hang costs only the worker: the call
 * times out, the worker is dropped and the next call gets a fresh one.
 *
 * A worker stuck in a native call still delays process exit until the call returns.
 */
export class KeyringThread {
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #seq = 0;

  call(request: KeyringRequest, timeoutMs: number): Promise<unknown> {
    const worker = this.#worker ?? this.#start();
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#timeOut(seq, request.op, timeoutMs), timeoutMs);
      this.#pending.set(seq, { resolve, reject, timer });
      worker.postMessage({ seq, ...request });
    });
  }

  /** Stops the worker; pending calls fail. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#drop(new KeyringCallError('the keyring thread was closed'));
    await worker?.terminate();
  }

  #start(): Worker {
    const keyringPath = createRequire(import.meta.url).resolve('@napi-rs/keyring');
    // execArgv [] so flags like --input-type=module do not turn the eval'd CommonJS into ESM.
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { keyringPath },
      execArgv: [],
    });
    worker.on('message', (reply: Reply) => this.#settle(reply));
    worker.on('error', (error) => {
      if (this.#worker === worker) this.#drop(new KeyringCallError(error.message));
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#drop(new KeyringCallError('the keyring thread exited'));
    });
    // The worker must not keep a CLI process alive; pending calls hold timers that do.
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #settle(reply: Reply): void {
    const pending = this.#pending.get(reply.seq);
    if (pending === undefined) return;
    this.#pending.delete(reply.seq);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(new KeyringCallError(reply.message ?? 'keyring call failed'));
  }

  #timeOut(seq: number, op: KeyringOp, timeoutMs: number): void {
    if (!this.#pending.has(seq)) return;
    // Calls run one at a time, so everything queued behind a hung call would time out
    // too: fail them all now and start over with a fresh worker.
    const worker = this.#worker;
    this.#drop(
      new KeyringTimeoutError(`the keychain did not answer a ${op} within ${timeoutMs} ms`),
    );
    void worker?.terminate();
  }

  #drop(error: Error): void {
    this.#worker = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }
}
