import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { onTestFinished } from 'vitest';

import { createLogger, type Logger } from '../../../src/log/logger.js';

export interface CapturedLogger {
  logger: Logger;
  /** Every line, parsed. */
  lines: Record<string, unknown>[];
  /** Every line as written, for leak checks. */
  raw: string[];
  /** Lines at one level (pino numbers: 30 info, 40 warn, 50 error). */
  at(level: 'debug' | 'info' | 'warn' | 'error'): Record<string, unknown>[];
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** A real pino logger (with the project's redaction) whose lines are kept for assertions. */
export function captureLogger(): CapturedLogger {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', destination: sink });
  return { logger, lines, raw, at: (level) => lines.filter((l) => l.level === LEVELS[level]) };
}

/** A fresh folder removed after the test; the data folder is a `home` inside it. */
export function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'grantd-vault-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'home');
}

/** A random 32-byte key as base64. */
export function randomKey(): string {
  return randomBytes(32).toString('base64');
}

/** The names in a folder, for checking that no temp or lock file was left behind. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir).sort();
}
