// Runs the keychain backend against a real Secret Service: gnome-keyring in a private
// D-Bus session, in a child `node` process that imports the built vault from dist/ (Node 20
// cannot load TypeScript). `npm test` builds first; run `npm run build` before running
// this file alone. Skipped without dbus-run-session unless GRANTD_REQUIRE_KEYRING=1.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DIST_VAULT,
  RESULT_MARKER,
  assertVaultBuilt,
  keyringAvailable,
  keyringRequired,
  runInKeyringSession,
  transpileForChild,
  type SessionRun,
} from '../../helpers/keyring.js';
import { vaultBehaviour } from './behaviour.js';

const skip = !keyringAvailable && !keyringRequired;

const CHILD = (behaviourUrl: string) => `
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeychainBackend, Vault } from ${JSON.stringify(pathToFileURL(DIST_VAULT).href)};
import { vaultBehaviour } from ${JSON.stringify(behaviourUrl)};

const [scenario, root] = process.argv.slice(2);
const logs = [];
const line = (level) => (fields, msg) => logs.push({ level, ...fields, err: undefined, msg });
const logger = { trace() {}, debug: line('debug'), info: line('info'), warn: line('warn'),
  error: line('error'), fatal: line('fatal') };
logger.child = () => logger;

async function outcome(run) {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, code: error.code, message: error.message, cause: error.cause?.message };
  }
}
const folder = (name) => join(root, name);
const open = (name, backend) => Vault.open({ home: folder(name), vault: { backend } }, { logger });
const out = { cases: {}, checks: {}, logs };

if (scenario === 'unlocked') {
  for (const behaviour of vaultBehaviour) {
    out.cases[behaviour.name] = await outcome(() => behaviour.run({ open: () => open('cases', 'keychain') }));
  }
  out.checks.auto = await outcome(async () => {
    const vault = await open('auto', 'auto');
    const path = join(folder('auto'), 'vault-backend');
    return { kind: vault.kind, reason: vault.reason, choice: readFileSync(path, 'utf8'),
      mode: statSync(path).mode & 0o777, infos: logs.filter((l) => l.level === 'info').length };
  });
  out.checks.autoAgain = await outcome(async () => {
    const vault = await open('auto', 'auto');
    return { kind: vault.kind, reason: vault.reason };
  });
  out.checks.absent = await outcome(() => new KeychainBackend().get('gr_never_written'));
  out.checks.seed = await outcome(() =>
    new Vault(new KeychainBackend(), logger).put('gr_seeded', { kind: 'static', token: 'SEEDED-TOKEN-1' }, 1));
}

if (scenario === 'locked') {
  const locked = new Vault(new KeychainBackend(), logger);
  out.checks.get = await outcome(() => locked.get('gr_seeded', 1));
  out.checks.put = await outcome(() => locked.put('gr_seeded', { kind: 'static', token: 'x' }, 2));
  out.checks.explicit = await outcome(() => open('explicit', 'keychain'));
  out.checks.auto = await outcome(async () => {
    const vault = await open('auto-locked', 'auto');
    return { kind: vault.kind, reason: vault.reason };
  });
  mkdirSync(folder('remembered'), { recursive: true });
  writeFileSync(join(folder('remembered'), 'vault-backend'), 'keychain\\n');
  out.checks.remembered = await outcome(() => open('remembered', 'auto'));
}

console.log(${JSON.stringify(RESULT_MARKER)} + JSON.stringify(out));
`;

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
  cause?: string;
}
interface ChildResult {
  cases: Record<string, Outcome>;
  checks: Record<string, Outcome>;
  logs: { level: string; msg: string }[];
}

/** One D-Bus session per scenario; its HOME holds the keyring files between scenarios. */
let dir = '';
let sessionHome = '';
let root = '';
let script = '';
const runs: Record<string, SessionRun & { result: ChildResult }> = {};

async function scenario(name: 'unlocked' | 'locked', unlock: boolean) {
  const run = await runInKeyringSession(script, { home: sessionHome, unlock, args: [name, root] });
  if (run.result === undefined) {
    throw new Error(
      `the ${name} child printed no result (exit ${run.code}):\n${run.stdout}\n${run.stderr}`,
    );
  }
  runs[name] = run as SessionRun & { result: ChildResult };
}

describe.skipIf(skip)('keychain backend on a real Secret Service', () => {
  beforeAll(async () => {
    if (!keyringAvailable) {
      throw new Error(
        'GRANTD_REQUIRE_KEYRING=1 but dbus-run-session or gnome-keyring-daemon is missing',
      );
    }
    assertVaultBuilt();
    dir = mkdtempSync(join(tmpdir(), 'grantd-keychain-'));
    root = join(dir, 'data');
    sessionHome = join(dir, 'session-home');
    script = join(dir, 'keychain-child.mjs');
    const behaviourUrl = transpileForChild(join(import.meta.dirname, 'behaviour.ts'), dir);
    writeFileSync(script, CHILD(behaviourUrl));
    await scenario('unlocked', true);
    await scenario('locked', false);
  }, 60_000);

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  describe('with the keyring unlocked', () => {
    const checks = () => runs.unlocked!.result.checks;

    for (const behaviour of vaultBehaviour) {
      it(behaviour.name, () => {
        expect(runs.unlocked!.result.cases[behaviour.name]).toEqual({ ok: true });
      });
    }

    it('is chosen by auto after a probe, remembered in vault-backend with mode 0600', () => {
      expect(checks().auto).toEqual({
        ok: true,
        value: {
          kind: 'keychain',
          reason: 'vault.backend is auto and the keychain probe succeeded',
          choice: 'keychain\n',
          mode: 0o600,
          infos: 1,
        },
      });
      expect(checks().autoAgain).toMatchObject({ ok: true, value: { kind: 'keychain' } });
    });

    it('answers undefined for an absent id', () => {
      expect(checks().absent).toEqual({ ok: true });
    });

    it('keeps secrets in the Secret Service keyring files, encrypted, not in the data folder', () => {
      expect(checks().seed).toEqual({ ok: true });
      const keyrings = join(sessionHome, '.local', 'share', 'keyrings');
      expect(existsSync(join(keyrings, 'login.keyring'))).toBe(true);
      for (const file of readdirSync(keyrings)) {
        expect(readFileSync(join(keyrings, file), 'latin1')).not.toContain('SEEDED-TOKEN-1');
      }
      const cases = join(root, 'cases');
      expect(existsSync(cases) ? readdirSync(cases) : []).toEqual([]);
    });

    it('never logs a secret', () => {
      const text = JSON.stringify(runs.unlocked!.result.logs);
      expect(text).not.toContain('SEEDED-TOKEN-1');
      expect(text).not.toContain('sk-live-1');
    });
  });

  describe('with the keyring locked', () => {
    const checks = () => runs.locked!.result.checks;

    it('fails a read of a stored secret instead of answering "absent"', () => {
      expect(checks().get).toMatchObject({ ok: false, code: 'vault_unavailable' });
      expect(checks().get!.cause).toContain('locked');
    });

    it('fails a write', () => {
      expect(checks().put).toMatchObject({ ok: false, code: 'vault_unavailable' });
    });

    it('logs what to do', () => {
      const errors = runs.locked!.result.logs.filter((l) => l.level === 'error');
      expect(errors.some((l) => l.msg.includes('unlock the keychain'))).toBe(true);
    });

    it('is vault_unavailable when configured as keychain', () => {
      expect(checks().explicit).toMatchObject({ ok: false, code: 'vault_unavailable' });
      expect(checks().explicit!.message).toContain('the keychain is locked');
    });

    it('makes auto pick the file on a fresh data folder, saying why', () => {
      expect(checks().auto).toEqual({
        ok: true,
        value: {
          kind: 'file',
          reason: 'vault.backend is auto and the keychain is not usable (the keychain is locked)',
        },
      });
    });

    it('fails closed when the data folder remembers keychain', () => {
      expect(checks().remembered).toMatchObject({ ok: false, code: 'vault_unavailable' });
    });
  });
});

describe.runIf(!keyringAvailable && keyringRequired)('GRANTD_REQUIRE_KEYRING=1', () => {
  it('needs dbus-run-session and gnome-keyring-daemon', () => {
    expect(keyringAvailable).toBe(true);
  });
});
