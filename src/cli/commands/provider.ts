import type { ArgumentsCamelCase } from 'yargs';

import type { Provider } from '../../providers/registry.js';
import type { GlobalArgs } from '../cli.js';
import { fail, withContext } from '../context.js';
import { formatTable, printJsonLines } from '../table.js';

type ListArgs = ArgumentsCamelCase<GlobalArgs & { json?: boolean }>;

export async function providerList(args: ListArgs): Promise<void> {
  await withContext(args.config, (ctx) => {
    const providers = ctx.providers.list();
    if (args.json) {
      printJsonLines(providers.map(describe));
      return;
    }
    process.stdout.write(
      formatTable(
        ['ID', 'NAME', 'AUTH', 'CLIENT', 'HOSTS'],
        providers.map((p) => [
          p.spec.id,
          p.spec.name,
          p.spec.auth,
          clientState(p),
          p.spec.hosts.join(', '),
        ]),
      ),
    );
  });
}

export async function providerShow(
  args: ArgumentsCamelCase<GlobalArgs & { id: string; json?: boolean }>,
) {
  await withContext(args.config, (ctx) => {
    const provider = ctx.providers.get(args.id);
    if (!provider) fail(`no provider ${args.id} (grantd provider list shows them)`);
    const info = describe(provider);
    if (args.json) {
      printJsonLines([info]);
      return;
    }
    const { spec } = provider;
    const lines = [
      `${spec.name} (${spec.id}), ${provider.builtin ? 'built-in' : 'from the config'}`,
      `  auth       ${spec.auth}`,
      `  hosts      ${spec.hosts.join(', ')}`,
      `  inject     ${describeInject(provider)}`,
    ];
    if (spec.oauth) {
      lines.push(
        `  authorize  ${spec.oauth.authorize_url}`,
        `  token      ${spec.oauth.token_url}`,
        `  scopes     ${spec.oauth.scopes.join(spec.oauth.scope_separator) || '(none)'}`,
        `  client     ${clientState(provider)}`,
      );
    }
    for (const param of spec.params) lines.push(`  param      ${param.name}: ${param.description}`);
    if (spec.docs) lines.push(`  docs       ${spec.docs}`);
    if (spec.notes) lines.push(`  note       ${spec.notes}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

/** Never the secret: only whether the config supplies a client. */
function clientState(provider: Provider): string {
  if (!provider.spec.oauth) return '-';
  return provider.client ? 'configured' : 'not configured';
}

function describeInject(provider: Provider): string {
  const inject = provider.spec.inject;
  if ('header' in inject) return `${inject.header}: ${inject.format}`;
  if ('query' in inject) return `query parameter ${inject.query}`;
  return `basic auth (${inject.basic})`;
}

function describe(provider: Provider): Record<string, unknown> {
  const { spec } = provider;
  return {
    id: spec.id,
    name: spec.name,
    builtin: provider.builtin,
    auth: spec.auth,
    hosts: spec.hosts,
    inject: spec.inject,
    params: spec.params.map((p) => p.name),
    oauth: spec.oauth
      ? {
          authorize_url: spec.oauth.authorize_url,
          token_url: spec.oauth.token_url,
          scopes: spec.oauth.scopes,
          pkce: spec.oauth.pkce,
        }
      : null,
    client_configured: provider.client !== undefined,
    docs: spec.docs ?? null,
  };
}
