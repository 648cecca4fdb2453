import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed-in browser: its CSRF token and when it was last seen. */
export interface Session {
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface SessionOptions {
  /** A session unused this long is gone. Default 12 hours. */
  idleMs?: number;
  /** No session outlives this, used or not. Default 7 days. */
  maxAgeMs?: number;
  /** Sessions kept at most; the least recently used goes first. Default 64. */
  maxSessions?: number;
}

function digest(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Portal sessions, in the daemon's memory: a restart signs everyone out,
 * which for a local tool is a feature. The map is keyed by a SHA-256 of the
 * session id, so the ids themselves are kept nowhere but in the cookie.
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #idleMs: number;
  readonly #maxAgeMs: number;
  readonly #max: number;

  constructor(options: SessionOptions = {}) {
    this.#idleMs = options.idleMs ?? 12 * 3_600_000;
    this.#maxAgeMs = options.maxAgeMs ?? 7 * 86_400_000;
    this.#max = options.maxSessions ?? 64;
  }

  /** Starts a session; returns its id (for the cookie) and CSRF token (for the page). */
  create(now = Date.now()): { id: string; session: Session } {
    this.#prune(now);
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
    const id = randomToken();
    const session: Session = { csrf: randomToken(), createdAt: now, lastSeenAt: now };
    this.#sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, marked as seen now; undefined when none. */
  get(id: string | undefined, now = Date.now()): Session | undefined {
    if (!id) return undefined;
    const key = digest(id);
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    if (this.#isExpired(session, now)) {
      this.#sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    // Re-inserted so the map stays in least-recently-used order for eviction.
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(digest(id));
  }

  #isExpired(session: Session, now: number): boolean {
    return now - session.lastSeenAt > this.#idleMs || now - session.createdAt > this.#maxAgeMs;
  }

  #prune(now: number): void {
    for (const [key, session] of this.#sessions) {
      if (this.#isExpired(session, now)) this.#sessions.delete(key);
    }
  }
}

/** Compares a CSRF token sent by the page with the session's, in constant time. */
export function isCsrfValid(session: Session, sent: string | undefined): boolean {
  if (sent === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}
