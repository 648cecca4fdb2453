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
          .option('app', { type: 'string', describe: "Put this app's key in the proxy URL" })
          .option('grant', {
            type: 'string',
            describe: 'With --app: name this grant as the proxy user, for apps that send no header',
          })
          .example('eval "$($0 env --app billing)"', 'Use grantd from this shell (bash, zsh)')
          .example('$0 env --shell fish | source', 'The same in fish')
          .example('$0 env --shell dotenv > .env', 'For tools that read .env files'),
      async (args) => (await import('./commands/env.js')).env(args),
    )
    .command(
      'run',
      'Run a program with the variables of `grantd env` set; exits with its code',
      (y) =>
        y
          .option('app', { type: 'string', describe: "Put this app's key in the proxy URL" })
          .option('grant', {
            type: 'string',
            describe: 'With --app: name this grant as the proxy user, for apps that send no header',
          })
          .example('$0 run --app billing -- python3 post.py', 'A program that holds no token')
          .example('$0 run -- curl https://api.example.com/', 'One command through grantd')
          .example('$0 run -- python3 app.py', 'A whole program'),
      async (args) => setExit(await (await import('./commands/run.js')).run(args)),
    )
    .command('app', 'Apps: the units that own keys and grants', (y) =>
      y
        .command(
          'create <name>',
          'Create an app',
          (c) =>
            c
              .positional('name', { type: 'string', demandOption: true })
              .option('json', { type: 'boolean', describe: 'Print the new app as JSON' })
              .example('$0 app create billing', 'One app per service or agent'),
          async (args) => (await import('./commands/app.js')).appCreate(args),
        )
        .command(
          'list',
          'List apps',
          (c) => c.option('json', { type: 'boolean', describe: 'One JSON object per line' }),
          async (args) => (await import('./commands/app.js')).appList(args),
        )
        .command(
          'delete <name>',
          'Delete an app with its keys and grants',
          (c) =>
            c
              .positional('name', { type: 'string', demandOption: true })
              .example('$0 app delete billing', "Also deletes its grants' secrets"),
          async (args) => (await import('./commands/app.js')).appDelete(args),
        )
        .demandCommand(1, 'Name a subcommand: create, list or delete'),
    )
    .command('key', "Keys: an app's proxy password", (y) =>
      y
        .command(
          'mint',
          'Mint a key for an app; prints it once',
          (c) =>
            c
              .option('app', { type: 'string', demandOption: true, describe: 'The app' })
              .example('KEY=$($0 key mint --app billing)', 'Keep the key in a variable'),
          async (args) => (await import('./commands/key.js')).keyMint(args),
        )
        .command(
          'list',
          'List keys (never the keys themselves)',
          (c) =>
            c
              .option('app', { type: 'string', describe: 'Only this app' })
              .option('json', { type: 'boolean', describe: 'One JSON object per line' }),
          async (args) => (await import('./commands/key.js')).keyList(args),
        )
        .command(
          'revoke <id>',
          'Revoke a key; it stops working on the next request',
          (c) =>
            c
              .positional('id', { type: 'string', demandOption: true })
              .example('$0 key revoke key_3xP9aQ2mLk7v', 'Ids come from key list'),
          async (args) => (await import('./commands/key.js')).keyRevoke(args),
        )
        .demandCommand(1, 'Name a subcommand: mint, list or revoke'),
    )
    .command('provider', 'The provider catalog, built-in and from the config', (y) =>
      y
        .command(
          'list',
          'List providers',
          (c) => c.option('json', { type: 'boolean', describe: 'One JSON object per line' }),
          async (args) => (await import('./commands/provider.js')).providerList(args),
        )
        .command(
          'show <id>',
          'Show one provider: hosts, injection, OAuth endpoints',
          (c) =>
            c
              .positional('id', { type: 'string', demandOption: true })
              .option('json', { type: 'boolean', describe: 'As JSON' })
              .example('$0 provider show slack', 'What grantd knows of Slack'),
          async (args) => (await import('./commands/provider.js')).providerShow(args),
        )
        .demandCommand(1, 'Name a subcommand: list or show'),
    )
    .command('grant', 'Grants: stored credentials, never shown', (y) =>
      y
        .command(
          'add <provider>',
          'Store a static credential (API key) read from stdin; prints the grant id',
          (c) =>
            grantOptions(c)
              .option('token-stdin', {
                type: 'boolean',
                describe: 'Read the token from stdin (required)',
              })
              .example(
                'printenv OPENAI_API_KEY | $0 grant add openai --app bot --alias ai --token-stdin',
                'Hand an app an OpenAI key it never sees',
              ),
          async (args) => (await import('./commands/grant.js')).grantAdd(args),
        )
        .command(
          'import <provider>',
          'Store an OAuth token set read as JSON from stdin; prints the grant id',
          (c) =>
            grantOptions(c).example(
              'echo \'{"access_token":"…","refresh_token":"…","expires_in":3600}\' | $0 grant import slack --app bot',
              'Migrate tokens from another tool',
            ),
          async (args) => (await import('./commands/grant.js')).grantImport(args),
        )
        .command(
          'list',
          'List grants',
          (c) =>
            c
              .option('app', { type: 'string', describe: 'Only this app' })
              .option('json', { type: 'boolean', describe: 'One JSON object per line' }),
          async (args) => (await import('./commands/grant.js')).grantList(args),
        )
        .command(
          'show <grant>',
          'Show one grant by id or alias',
          (c) =>
            c
              .positional('grant', { type: 'string', demandOption: true })
              .option('app', { type: 'string', describe: 'The app, when an alias is ambiguous' })
              .option('json', { type: 'boolean', describe: 'As JSON' }),
          async (args) => (await import('./commands/grant.js')).grantShow(args),
        )
        .command(
          'revoke <grant>',
          'Revoke a grant and delete its secret from the vault',
          (c) =>
            c
              .positional('grant', { type: 'string', demandOption: true })
              .option('app', { type: 'string', describe: 'The app, when an alias is ambiguous' })
              .example('$0 grant revoke work --app bot', 'Takes effect on the next request'),
          async (args) => (await import('./commands/grant.js')).grantRevoke(args),
        )
        .demandCommand(1, 'Name a subcommand: add, import, list, show or revoke'),
    )
    .command(
      'connect <provider>',
      'Connect an account in the browser (OAuth); prints the grant id',
      (y) =>
        y
          .positional('provider', { type: 'string', demandOption: true, describe: 'A provider id' })
          .option('app', {
            type: 'string',
            demandOption: true,
            describe: 'The app that owns the grant',
          })
          .option('alias', {
            type: 'string',
            describe:
              'A name for the grant; connecting an existing alias again repairs it in place',
          })
          .option('scopes', {
            type: 'string',
            describe: "Scopes to ask for, instead of the provider's defaults",
          })
          .option('param', {
            type: 'string',
            array: true,
            describe: 'A per-grant value the provider needs, as name=value (e.g. shop=acme)',
          })
          .option('browser', {
            type: 'boolean',
            default: true,
            describe: 'Open a browser; --no-browser prints the URL instead',
          })
          .options(policyOptions)
          .option('port', {
            type: 'number',
            describe:
              'Loopback port for the redirect (default: providers.<id>.redirect_port, else any free one)',
          })
          .option('timeout', {
            type: 'number',
            default: 300,
            describe: 'Seconds to wait for the browser',
          })
          .example(
            '$0 connect slack --app bot --alias work',
            'Opens Slack consent; prints the grant id',
          )
          .example('$0 connect github --app ci --no-browser', 'Open the printed URL anywhere'),
      async (args) => setExit(await (await import('./commands/connect.js')).connect(args)),
    )
    .command(
      'audit',
      'Read the audit log, oldest first',
      (y) =>
        y
          .option('since', { type: 'string', describe: 'Rows since 30s, 15m, 2h, 7d or a date' })
          .option('app', { type: 'string', describe: 'Only this app' })
          .option('grant', { type: 'string', describe: 'Only this grant (id or alias)' })
          .option('provider', { type: 'string', describe: 'Only this provider' })
          .option('status', { type: 'string', describe: 'A status (403), class (4xx) or outcome' })
          .option('limit', { type: 'number', default: 100, describe: 'At most this many rows' })
          .option('json', { type: 'boolean', describe: 'One JSON object per line' })
          .option('follow', { type: 'boolean', alias: 'f', describe: 'Keep printing new rows' })
          .example('$0 audit --since 1h --status 4xx', 'Refusals of the last hour')
          .example('$0 audit --json --follow', 'Stream rows to another tool'),
      async (args) => (await import('./commands/audit.js')).audit(args),
    )
    .command(
      'portal',
      'Open the local portal with a one-time login link',
      (y) =>
        y
          .option('browser', {
            type: 'boolean',
            default: true,
            describe: 'Open a browser; --no-browser prints the link instead',
          })
          .example('$0 portal', 'Opens the portal in the browser')
          .example(
            '$0 portal --no-browser',
            'Prints a one-time link to open anywhere on this machine',
          ),
      async (args) => setExit(await (await import('./commands/portal.js')).portal(args)),
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

/** Options shared by `grant add` and `grant import`. */
function grantOptions<T>(y: Argv<T>) {
  return y
    .positional('provider', { type: 'string', demandOption: true, describe: 'A provider id' })
    .option('app', { type: 'string', demandOption: true, describe: 'The app that owns the grant' })
    .option('alias', { type: 'string', describe: 'A name for the grant, unique within the app' })
    .option('principal', {
      type: 'string',
      describe: 'Who the credential acts as (for the audit log)',
    })
    .option('param', {
      type: 'string',
      array: true,
      describe: 'A per-grant value the provider needs, as name=value (e.g. shop=acme)',
    })
    .options(policyOptions);
}

/** `--methods` and `--paths`: what a grant may be used for. */
const policyOptions = {
  methods: {
    type: 'string',
    array: true,
    describe: 'Only these HTTP methods may use the grant (e.g. GET or GET,HEAD)',
  },
  paths: {
    type: 'string',
    array: true,
    describe: 'Only these paths: a prefix (/repos) or a glob (/api/chat.*, /v1/**)',
  },
} as const;
