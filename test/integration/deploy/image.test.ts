import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createInterface } from 'node:readline';

import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildConfig } from '../../../src/config/load.js';
import { runProcess } from '../../helpers/clients.js';
import { ROOT, tempDir } from '../../helpers/daemon.js';
import {
  StageFs,
  copyInto,
  ignoredBy,
  parseEnv,
  parseExecForm,
  readDockerfile,
  readDockerignore,
  type Instruction,
} from './dockerfile.js';

// There is no container engine on the machines this project runs on (no
// Docker daemon; buildah runs, but cannot pull node:22-bookworm-slim without
// network access to a registry). So this test carries out the Dockerfile by
// hand: each stage gets a folder standing in for its root file system, COPY
// and WORKDIR are followed literally (with .dockerignore), the npm steps run
// as written, and the runtime stage is started the way its ENTRYPOINT, CMD,
// ENV and VOLUME say. What it cannot check: the base image itself (here the
// machine's Node, not node:22), uid 10001, and the apt-get step.

/** RUN steps not executed here, each with the reason; any other non-npm step fails the test. */
const SKIPPED_RUNS: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^apt-get update\b.*\bapt-get install\b.*\bpython3\b.*\bmake\b.*\bg\+\+/,
    reason:
      'the toolchain for building better-sqlite3 from source; the prebuilt binding is supplied instead',
  },
  {
    pattern: /^mkdir -p \/data && chown 10001:10001 \/data$/,
    reason: 'prepares the /data volume for uid 10001; a temp folder stands in for the volume',
  },
];

interface Built {
  stages: Map<string, StageFs>;
  runtime: StageFs;
  entrypoint: string[];
  cmd: string[];
  volumes: string[];
  healthcheck: string[] | undefined;
  skipped: string[];
  timings: Record<string, number>;
}

let work: string;
let built: Built;

/**
 * What prebuild-install (better-sqlite3's install script) looks for before it
 * downloads a binding: `<prefix>/<name>-v<version>-node-v<abi>-<platform>-<arch>.tar.gz`.
 * A Docker build with network access downloads exactly this file; here it is
 * packed from the binding the repo's own `npm ci` made for this Node, so the
 * staged `npm ci` runs its install script unchanged without a 2.5-minute compile.
 */
function localPrebuilds(into: string): Record<string, string> {
  const pkgDir = join(ROOT, 'node_modules', 'better-sqlite3');
  const binding = join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(binding)) return {};
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const abi = process.versions.modules;
  const file = `better-sqlite3-v${version}-node-v${abi}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(into, { recursive: true });
  const tar = spawnSync('tar', [
    '-czf',
    join(into, file),
    '-C',
    pkgDir,
    'build/Release/better_sqlite3.node',
  ]);
  if (tar.status !== 0) throw new Error(`tar failed: ${String(tar.stderr)}`);
  return { npm_config_better_sqlite3_local_prebuilds: into };
}

/**
 * The environment of a build step. The test runner's variables stay out
 * (vitest sets NODE_ENV=test, which the Dockerfile's build stage does not
 * have), and so do those of an outer `npm test` that describe this repo
 * (npm_package_*, npm_lifecycle_*, the local prefix); npm_config_* settings
 * are the user's and stay.
 */
function buildEnv(stage: StageFs, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_(?!config_)|npm_config_local_prefix$|VITEST|NODE_ENV$|INIT_CWD$|TEST$)/i.test(k))
      continue;
    env[k] = v;
  }
  return { ...env, ...stage.env, ...extra };
}

async function run(stage: StageFs, command: string, env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn('sh', ['-c', command], { cwd: stage.hostPath('.'), env, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`RUN ${command} exited ${code}:\n${output.slice(-4000)}`);
}

function copy(
  stage: StageFs,
  instruction: Instruction,
  stages: Map<string, StageFs>,
  ignore: (p: string) => boolean,
) {
  const tokens = instruction.rest.split(/\s+/);
  const flags = tokens.filter((t) => t.startsWith('--'));
  const paths = tokens.filter((t) => !t.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  const unknown = flags.filter((f) => !f.startsWith('--from='));
  if (unknown.length > 0)
    throw new Error(`line ${instruction.line}: teach this test about ${unknown.join(' ')}`);
  const destination = paths.pop() as string;
  const source = from === undefined ? undefined : stages.get(from);
  if (from !== undefined && !source) throw new Error(`line ${instruction.line}: no stage ${from}`);
  const sources = paths.map((p) =>
    source ? { path: source.hostPath(p) } : { path: join(ROOT, p), isIgnored: ignore },
  );
  const isDir = destination.endsWith('/') || destination === '.' || paths.length > 1;
  copyInto(sources, stage.hostPath(destination), isDir);
}

async function buildImage(): Promise<Built> {
  const ignore = ignoredBy(readDockerignore());
  const prebuilds = localPrebuilds(join(work, 'prebuilds'));
  const stages = new Map<string, StageFs>();
  const result: Partial<Built> = { skipped: [], timings: {}, volumes: [] };
  let stage: StageFs | undefined;

  for (const [index, spec] of readDockerfile().entries()) {
    stage = new StageFs(join(work, `stage-${index}`));
    stages.set(spec.name ?? String(index), stage);
    for (const instruction of spec.instructions) {
      const { keyword, rest } = instruction;
      switch (keyword) {
        case 'WORKDIR':
          stage.setWorkdir(rest);
          break;
        case 'ENV':
          for (const [k, v] of parseEnv(rest)) stage.env[k] = v;
          break;
        case 'COPY':
          copy(stage, instruction, stages, ignore);
          break;
        case 'RUN': {
          const isNpm = rest.split('&&').every((part) => /^npm\s/.test(part.trim()));
          if (isNpm) {
            const started = performance.now();
            await run(stage, rest, buildEnv(stage, prebuilds));
            (result.timings as Record<string, number>)[rest] = Math.round(
              performance.now() - started,
            );
            break;
          }
          const skip = SKIPPED_RUNS.find((s) => s.pattern.test(rest));
          if (!skip)
            throw new Error(
              `line ${instruction.line}: a new RUN step; teach this test about it: ${rest}`,
            );
          result.skipped?.push(rest);
          break;
        }
        case 'ENTRYPOINT':
          result.entrypoint = parseExecForm(rest);
          break;
        case 'CMD':
          result.cmd = parseExecForm(rest);
          break;
        case 'VOLUME':
          result.volumes = parseExecForm(rest);
          break;
        case 'HEALTHCHECK':
          result.healthcheck = parseExecForm(rest.slice(rest.indexOf('CMD ') + 4));
          break;
        case 'USER':
        case 'EXPOSE':
        case 'ARG':
        case 'LABEL':
          break;
        default:
          throw new Error(`line ${instruction.line}: teach this test about ${keyword}`);
      }
    }
  }
  return { ...(result as Built), stages, runtime: stage as StageFs };
}

/** The runtime stage started as `docker run` would: ENTRYPOINT + CMD in WORKDIR with ENV. */
async function startImage(home: string, configFile: string) {
  const [program, ...args] = [...built.entrypoint, ...built.cmd];
  expect(program).toBe('node');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    ...built.runtime.env,
    GRANTD_HOME: home,
    GRANTD_CONFIG: configFile,
    GRANTD_VAULT_KEY: Buffer.alloc(32, 9).toString('base64'),
  };
  const child = spawn(process.execPath, args, {
    cwd: built.runtime.hostPath('.'),
    env,
    stdio: 'pipe',
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === 'grantd listening') resolve(parsed);
    });
    child.once('exit', (code) => reject(new Error(`grantd exited ${code}:\n${stderr}`)));
  });
  return { child, ready: await listening };
}

beforeAll(async () => {
  work = tempDir('grantd-image-');
  built = await buildImage();
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the image built by hand from the Dockerfile', () => {
  it('ran every npm step, and skipped only the steps listed here', () => {
    expect(Object.keys(built.timings)).toEqual(['npm ci', 'npm run build && npm prune --omit=dev']);
    expect(built.skipped).toHaveLength(SKIPPED_RUNS.length);
  });

  it('holds the built daemon, its native binding, and no dev dependencies or sources', () => {
    const app = (path: string) => built.runtime.hostPath(path);
    expect(existsSync(app('dist/src/cli/main.js'))).toBe(true);
    expect(existsSync(app('node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(
      true,
    );
    expect(existsSync(app('src'))).toBe(false);
    const { devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const present = Object.keys(devDependencies).filter((name) =>
      existsSync(app(`node_modules/${name}`)),
    );
    expect(present).toEqual([]);
  });

  it('ships deploy/container/grantd.yaml as a valid config on loopback 8790/8791 with the file vault', () => {
    const configPath = built.runtime.env.GRANTD_CONFIG as string;
    expect(configPath).toBe('/etc/grantd/grantd.yaml');
    const shipped = readFileSync(built.runtime.hostPath(configPath), 'utf8');
    expect(shipped).toBe(readFileSync(join(ROOT, 'deploy/container/grantd.yaml'), 'utf8'));
    const config = buildConfig(parse(shipped), { env: { GRANTD_HOME: '/data' } });
    expect(config.listen).toBe('127.0.0.1:8790');
    expect(config.admin).toBe('127.0.0.1:8791');
    expect(config.vault).toEqual({ backend: 'file', key: 'env:GRANTD_VAULT_KEY' });
    expect(built.runtime.env.GRANTD_HOME).toBe('/data');
    expect(built.volumes).toEqual(['/data']);
  });

  it('has only valid configs in deploy/container, each with the file vault', () => {
    const dir = join(ROOT, 'deploy', 'container');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toContain('grantd.yaml');
    for (const file of files) {
      const config = buildConfig(parse(readFileSync(join(dir, file), 'utf8')), { env: {} });
      expect(config.vault, file).toEqual({ backend: 'file', key: 'env:GRANTD_VAULT_KEY' });
      expect(
        [config.listen, config.admin].map((a) => a.split(':')[1]),
        file,
      ).toEqual(['8790', '8791']);
    }
  });

  describe('started as the image starts', () => {
    let child: ChildProcess;
    let ready: Record<string, unknown>;
    let home: string;

    beforeAll(async () => {
      // The shipped config with the listeners moved to ephemeral ports; the
      // rest (file vault, JSON logs) as the image has it.
      const shipped = parse(
        readFileSync(built.runtime.hostPath('/etc/grantd/grantd.yaml'), 'utf8'),
      ) as Record<string, unknown>;
      const configFile = built.runtime.hostPath(posix.join('/etc/grantd', 'grantd.test.yaml'));
      writeFileSync(
        configFile,
        stringify({ ...shipped, listen: '127.0.0.1:0', admin: '127.0.0.1:0' }),
      );
      home = join(work, 'data-volume');
      ({ child, ready } = await startImage(home, configFile));
    });

    afterAll(async () => {
      if (child && child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });

    it('answers /healthz and /readyz with 200, with the file vault in the data volume', async () => {
      expect(ready.vault).toBe('file');
      expect(ready.home).toBe(home);
      for (const path of ['/healthz', '/readyz']) {
        const response = await fetch(`http://${ready.admin as string}${path}`);
        expect(response.status, path).toBe(200);
      }
      expect(existsSync(join(home, 'ca', 'ca-key.pem'))).toBe(true);
      expect(existsSync(join(home, 'grantd.db'))).toBe(true);
    });

    it("passes the Dockerfile's HEALTHCHECK command", async () => {
      const [program, ...args] = built.healthcheck ?? [];
      expect(program).toBe('node');
      const swapped = args.map((a) => a.replaceAll('127.0.0.1:8791', ready.admin as string));
      const result = await runProcess(process.execPath, swapped);
      expect(result.code).toBe(0);
    });

    it('stops cleanly on SIGTERM, as docker stop sends', async () => {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    });
  });
});
