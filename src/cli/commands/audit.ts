import { setTimeout as sleep } from 'node:timers/promises';

import type { ArgumentsCamelCase } from 'yargs';

import { parseSince, queryAudit, type AuditFilter } from '../../audit/query.js';
import { toAuditJson, type AuditRecord } from '../../audit/record.js';
import type { GlobalArgs } from '../cli.js';
import { fail, withContext } from '../context.js';
import { EXIT } from '../exit.js';
import { formatTable, formatTime } from '../table.js';

export interface AuditArgs extends GlobalArgs {
  since?: string;
  app?: string;
  grant?: string;
  provider?: string;
  status?: string;
  limit: number;
  json?: boolean;
  follow?: boolean;
}

const FOLLOW_POLL_MS = 500;

export async function audit(args: ArgumentsCamelCase<AuditArgs>): Promise<void> {
  let since: number | undefined;
  if (args.since !== undefined) {
    since = parseSince(args.since);
    if (since === undefined) {
      fail(
        `--since ${JSON.stringify(args.since)}: use 30s, 15m, 2h, 7d or a date such as 2026-12-01`,
        EXIT.usage,
      );
    }
  }
  if (args.status !== undefined && !/^([1-5]xx|\d{3}|[a-z_]+)$/i.test(args.status)) {
    fail(
      `--status ${JSON.stringify(args.status)}: use a status (403), a class (4xx) or an outcome (ok)`,
      EXIT.usage,
    );
  }
  await withContext(args.config, async (ctx) => {
    let grant = args.grant;
    if (grant !== undefined) {
      // An alias is looked up among today's grants; an id also finds revoked ones.
      const byAlias = ctx.store.grants.list().filter((g) => g.alias === grant);
      if (byAlias.length === 1) grant = byAlias[0]?.id;
    }
    const filter: AuditFilter = {
      since,
      app: args.app,
      grant,
      provider: args.provider,
      status: args.status,
      limit: args.limit,
    };
    let rows = queryAudit(ctx.store.db, filter);
    if (!args.json && rows.length === 0 && !args.follow) {
      process.stderr.write('no audit rows match\n');
      return;
    }
    print(
      rows.map((r) => r.record),
      args.json === true,
      true,
    );
    if (!args.follow) return;

    let last = rows.at(-1)?.seq ?? lastSeq(ctx.store.db);
    for (;;) {
      await sleep(FOLLOW_POLL_MS);
      rows = queryAudit(ctx.store.db, {
        ...filter,
        limit: undefined,
        since: undefined,
        afterSeq: last,
      });
      if (rows.length === 0) continue;
      last = rows.at(-1)?.seq ?? last;
      print(
        rows.map((r) => r.record),
        args.json === true,
        false,
      );
    }
  });
}

function lastSeq(db: Parameters<typeof queryAudit>[0]): number {
  const row = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM audit').get();
  return row?.seq ?? 0;
}

function print(records: AuditRecord[], json: boolean, withHeader: boolean): void {
  if (json) {
    for (const record of records) process.stdout.write(`${JSON.stringify(toAuditJson(record))}\n`);
    return;
  }
  if (records.length === 0) return;
  const table = formatTable(
    ['TIME', 'APP', 'KEY', 'GRANT', 'PROVIDER', 'PRINCIPAL', 'REQUEST', 'STATUS', 'OUTCOME', 'MS'],
    records.map((r) => [
      formatTime(r.ts),
      r.app ?? '-',
      r.keyId ?? '-',
      r.grantId ?? '-',
      r.provider ?? '-',
      r.principal ?? '-',
      `${r.method} ${r.host}${r.path}`,
      String(r.status),
      r.outcome,
      String(Math.round(r.durationMs)),
    ]),
  );
  process.stdout.write(withHeader ? table : table.slice(table.indexOf('\n') + 1));
}
