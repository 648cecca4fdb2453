import yargs, { type Argv } from 'yargs';

import { EXIT, ExitError } from './exit.js';

const VERSION = '0.1.0';

/** Options every command accepts. */
export interface GlobalArgs {
  config: string | undefined;
}

/**
 * Parses `argv` and runs the chosen command; resolves with the exit code.
 * Each command's module is imported only when that command runs, so `--help`
 * and quick commands stay fast.
 */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const parser = buildParser(argv, (code) => (exitCode = code));
  try {
    await parser.parseAsync();
  } catch (error) {
    if (error instanceof ExitError) {
      if (error.message) process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
  return exitCode;
}

function buildParser(argv: string[], setExit: (code: number) => void): Argv<GlobalArgs> {
  return yargs(argv)
    .scriptName('grantd')
    .version(VERSION)
    .parserConfiguration({ 'populate--': true })
    .option('config', {
      type: 'string',
      describe: 'Config file (default: $GRANTD_CONFIG, else built-in defaults)',
      global: true,
    })
    .command(
      'start',
      'Run the daemon in the foreground',
      (y) => y.example('$0 start --config grantd.yaml', 'Start with a config file'),
      async (args) => setExit(await (await import('./commands/start.js')).start(args)),
    )
    .command('ca', 'The local certificate authority', (y) =>
      y
        .command(
          'path',
          'Print where the CA certificate is',
          (c) => c.example('$0 ca path', 'e.g. to pass to curl --cacert'),
          async (args) => (await import('./commands/ca.js')).caPath(args),
        )
        .command(
          'export',
          'Print the CA certificate (PEM), or write it to a file',
          (c) =>
            c
              .option('out', { type: 'string', describe: 'Write to this file instead of stdout' })
              .example('$0 ca export --out grantd-ca.pem', 'Copy the CA for another machine'),
          async (args) => (await import('./commands/ca.js')).caExport(args),
        )
        .demandCommand(1, 'Name a subcommand: path or export'),
    )
    .command(
      'env',
      "Print variables that point a shell's programs at grantd",
      (y) =>
        y
          .option('shell', {
            choices: ['sh', 'fish', 'powershell', 'dotenv'] as const,
            default: 'sh' as const,
            describe: 'Syntax to print',
          })
          .example('eval "$($0 env)"', 'Use grantd from this shell (bash, zsh)')
          .example('$0 env --shell fish | source', 'The same in fish')
          .example('$0 env --shell dotenv > .env', 'For tools that read .env files'),
      async (args) => (await import('./commands/env.js')).env(args),
    )
    .command(
      'run',
      'Run a program with the variables of `grantd env` set; exits with its code',
      (y) =>
        y
          .example('$0 run -- curl https://api.example.com/', 'One command through grantd')
          .example('$0 run -- python3 app.py', 'A whole program'),
      async (args) => setExit(await (await import('./commands/run.js')).run(args)),
    )
    .command(
      'doctor',
      'Check the setup and say what to fix',
      (y) =>
        y
          .option('json', {
            type: 'boolean',
            default: false,
            describe: 'One JSON object on stdout',
          })
          .example('$0 doctor', 'Check config, data folder, CA and daemon'),
      async (args) => setExit(await (await import('./commands/doctor.js')).doctor(args)),
    )
    .demandCommand(1, 'Name a command; see grantd --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error) throw error;
      throw new ExitError(EXIT.usage, `grantd: ${message}\nRun grantd --help for usage.`);
    });
}
