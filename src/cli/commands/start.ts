import type { ArgumentsCamelCase } from 'yargs';

import { startDaemon } from '../../daemon/daemon.js';
import { createLogger, type Logger } from '../../log/logger.js';
import type { GlobalArgs } from '../cli.js';
import { loadConfigForCli } from '../config.js';
import { EXIT } from '../exit.js';

/** Runs the daemon until SIGTERM or SIGINT; a second signal skips the grace period. */
export async function start(args: ArgumentsCamelCase<GlobalArgs>): Promise<number> {
  const config = loadConfigForCli(args.config);
  const logger = createLogger(config.log);

  let daemon;
  try {
    daemon = await startDaemon(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'grantd could not start');
    await flush(logger);
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? ' (is another grantd running? see grantd doctor)' : '';
    process.stderr.write(`grantd: could not start: ${(error as Error).message}${hint}\n`);
    return EXIT.failure;
  }

  const proxy = `http://${daemon.proxyAddress.address}:${daemon.proxyAddress.port}`;
  process.stderr.write(
    [
      `grantd is running`,
      `  proxy   ${proxy}`,
      `  admin   http://${daemon.adminAddress.address}:${daemon.adminAddress.port}`,
      `  data    ${config.home}`,
      `  CA      ${daemon.authority.paths.cert}`,
      `          SHA-256 ${daemon.authority.fingerprint256}`,
      ``,
      `Next, in another terminal:`,
      `  grantd app create quickstart && grantd key mint --app quickstart`,
      `  grantd connect slack --app quickstart --alias work   # or: grant add PROVIDER --token-stdin`,
      `  grantd run --app quickstart -- python3 post.py        # header Grantd-Grant: work`,
      `  grantd audit                                          # what it did`,
      `Stop with Ctrl-C.`,
      ``,
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      const grace = signals === 1 ? config.shutdown.grace_ms : 0;
      logger.info({ signal }, signals === 1 ? 'draining' : 'second signal: closing now');
      void daemon.close(grace).then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      logger.info({ signal: 'SIGHUP' }, 'reloading config');
      daemon.reload();
    });
  });
  await flush(logger);
  return EXIT.ok;
}

function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
