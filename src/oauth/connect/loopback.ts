import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { errorPage, PAGE_HEADERS, renderPage, type Page } from './pages.js';

export const CALLBACK_PATH = '/callback';

/** The redirect that came back with the right `state`. */
export type Callback =
  | { kind: 'code'; code: string; query: URLSearchParams; finish(page: Page): Promise<void> }
  | {
      kind: 'error';
      /** The provider's `error`, reduced to a safe token. */
      error: string;
      description: string | undefined;
      finish(page: Page): Promise<void>;
    };

/** Thrown by `waitForCallback` when nothing valid came in time. */
/** The redirect listener could not take its port (another connect is running?). */
export class ConnectPortError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectPortError';
  }
}

export class CallbackTimeout extends Error {
  constructor(seconds: number) {
    super(`no answer from the browser within ${seconds} s`);
    this.name = 'CallbackTimeout';
  }
}

/**
 * The redirect target of a native app (RFC 8252 section 7.3): an HTTP
 * listener on 127.0.0.1 and an ephemeral port, for one authorization.
 * A redirect whose `state` does not match is answered with an error page
 * and otherwise ignored: it is someone else's, or forged.
 */
export class LoopbackListener {
  readonly #server: Server;
  readonly #port: number;
  #waiting: ((callback: Callback) => void) | undefined;
  #expectedState = '';
  #done = false;
  #onIgnored: (reason: string) => void = () => undefined;

  private constructor(server: Server) {
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    server.on('request', (req, res) => this.#handle(req, res));
  }

  /**
   * Listens on `port`, 0 (the default) for an ephemeral one. A fixed port is
   * for providers that accept only the exact redirect URL registered.
   */
  static async open(port = 0): Promise<LoopbackListener> {
    const server = createServer();
    server.listen(port, '127.0.0.1');
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new ConnectPortError(`cannot listen on 127.0.0.1:${port} for the redirect (${code})`);
      }),
    ]);
    return new LoopbackListener(server);
  }

  /** `http://127.0.0.1:PORT/callback`: an IP literal, not localhost (RFC 8252 section 8.3). */
  get redirectUri(): string {
    return `http://127.0.0.1:${this.#port}${CALLBACK_PATH}`;
  }

  /**
   * Resolves with the first redirect carrying `state`. `onIgnored` hears of
   * redirects turned away, for a line on the terminal.
   */
  waitForCallback(
    state: string,
    timeoutSeconds: number,
    onIgnored: (reason: string) => void,
  ): Promise<Callback> {
    this.#expectedState = state;
    this.#onIgnored = onIgnored;
    return new Promise<Callback>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new CallbackTimeout(timeoutSeconds));
      }, timeoutSeconds * 1000);
      this.#waiting = (callback) => {
        clearTimeout(timer);
        this.#waiting = undefined;
        resolve(callback);
      };
    });
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== CALLBACK_PATH) {
      void send(res, errorPage(404, 'Not found', 'This address only takes the sign-in redirect.'));
      return;
    }
    if (req.method !== 'GET') {
      void send(res, errorPage(405, 'Method not allowed', 'The sign-in redirect is a GET.'));
      return;
    }
    if (this.#done || this.#waiting === undefined) {
      void send(res, errorPage(409, 'Already finished', 'This connect has already ended.'));
      return;
    }
    const query = url.searchParams;
    if (!sameState(query.get('state'), this.#expectedState)) {
      this.#onIgnored(query.has('state') ? 'a wrong state' : 'no state');
      void send(
        res,
        errorPage(
          400,
          'This sign-in does not match',
          'The redirect carried a missing or wrong state, so grantd ignored it.',
          'If you started grantd connect more than once, finish in the newest tab.',
        ),
      );
      return;
    }
    this.#done = true;
    this.#waiting(toCallback(query, (page) => send(res, page)));
  }
}

function toCallback(query: URLSearchParams, finish: (page: Page) => Promise<void>): Callback {
  const code = query.get('code');
  const error = query.get('error');
  if (error !== null || code === null || code === '') {
    const label =
      error === null ? 'no_code' : /^[A-Za-z0-9_.-]{1,64}$/.test(error) ? error : 'error';
    // It goes on the terminal too: no control characters, so no escape sequences.
    const description =
      query
        .get('error_description')
        ?.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ')
        .slice(0, 300) ?? undefined;
    return { kind: 'error', error: label, description, finish };
  }
  return { kind: 'code', code, query, finish };
}

function sameState(given: string | null, expected: string): boolean {
  if (given === null || expected === '') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, page: Page): Promise<void> {
  const html = renderPage(page);
  res.writeHead(page.status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(html) });
  return new Promise<void>((resolve) => {
    // 'close' as well: a browser tab closed early never lets the write finish.
    res.once('close', resolve);
    res.end(html, () => resolve());
  });
}
