import { join } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';

import { runCli, tempDir } from '../../helpers/daemon.js';
import { runCliToFile } from './support.js';

const ROWS = 20_000;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const home = join(tempDir(), 'home');
  env = { GRANTD_HOME: home, GRANTD_CONFIG: '' };
  expect((await runCli(['app', 'create', 'bulk'], { env })).code).toBe(0);
  // As many rows as a busy day leaves, written straight into the store.
  const db = new BetterSqlite3(join(home, 'grantd.db'));
  const insert = db.prepare(
    `INSERT INTO audit (ts, request_id, app, method, host, path, status, outcome, duration_ms)
     VALUES (?, ?, 'bulk', 'GET', 'api.openai.com', '/v1/models', 200, 'ok', 1.5)`,
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run(now, `req_bulk${String(i).padStart(8, '0')}`);
  })();
  db.close();
});

describe('grantd audit --json with many rows', () => {
  it('prints every row to a file', async () => {
    const result = await runCliToFile(['audit', '--json', '--limit', String(ROWS)], env);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l !== '')).toHaveLength(ROWS);
  });

  // Output beyond the pipe's buffer is still queued when the command returns;
  // the CLI must not exit before it has gone out (`grantd audit --json | jq`).
  it('prints every row to a pipe', async () => {
    const result = await runCli(['audit', '--json', '--limit', String(ROWS)], { env });
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l !== '')).toHaveLength(ROWS);
  });
});
