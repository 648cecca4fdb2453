/** Exit codes the CLI uses, so scripts can tell failures apart. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
} as const;

/**
 * Thrown by a command to end the process with `code` after printing `message`
 * to stderr. Only the entry file turns it into an exit.
 */
export class ExitError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message = '') {
    super(message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}
