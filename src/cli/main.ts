#!/usr/bin/env node
import { runCli } from './cli.js';

// The one place that ends the process: commands return or throw exit codes.
runCli(process.argv.slice(2)).then(
  // Output to a pipe is written asynchronously: exit once it has all gone out.
  (code) => process.stdout.write('', () => process.exit(code)),
  (error: unknown) => {
    process.stderr.write(
      `grantd: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
