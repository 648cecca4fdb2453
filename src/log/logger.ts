import { createRequire } from 'node:module';

import { pino, type DestinationStream, type Logger } from 'pino';
import type { build as buildPretty } from 'pino-pretty';

export type { Logger };

/**
 * Paths pino blanks out if a secret ever reaches a log call. Log lines are
 * built from chosen fields and never carry headers, so this is the second
 * net, not the first. Explicit paths: wildcards cost several times more.
 */
export const REDACT_PATHS = [
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'password',
  'key',
];

export interface LoggerOptions {
  level: string;
  /** `auto` is readable text on a terminal and JSON otherwise. */
  format: 'auto' | 'json' | 'pretty';
  /** Where lines go; stdout when absent. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const pretty =
    options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const stream =
    options.destination ??
    (pretty
      ? loadPretty()({
          colorize: true,
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        })
      : pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    stream,
  );
}

/** pino-pretty is loaded only for a terminal: a service never pays for it at start. */
function loadPretty(): typeof buildPretty {
  const require = createRequire(import.meta.url);
  return (require('pino-pretty') as { build: typeof buildPretty }).build;
}

/** Errors are logged by name, code and message; stacks only at debug and below. */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as NodeJS.ErrnoException).code;
  return { type: error.name, code, message: error.message, stack: error.stack };
}
