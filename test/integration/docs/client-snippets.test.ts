import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConfigInput } from '../../../src/config/schema.js';
import {
  CLI,
  ROOT,
  runCli,
  startInProcess,
  tempDir,
  type InProcessDaemon,
} from '../../helpers/daemon.js';
import { createTestPki } from '../../helpers/pki.js';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js';
import { clientPages, extractSnippets, withProxyPort, type Snippet } from './snippets.js';

// The setup docs/clients/README.md promises its snippets: grantd with a custom
// api_key provider `acme` for api.acme.test, an app `myapp` whose key is in
// GRANTD_APP_KEY, and a grant aliased `acme`. api.acme.test is a local HTTPS
// server reached through grantd's `resolve:`; the clients only ever talk to
// the proxy, so none of them needs to resolve it.
const TOKEN = 'acme-live-7f3e9b2c4d1a8e6f5b0c';
const HOST = 'api.acme.test';

/** A zero-ref git smart-HTTP advertisement, so `git ls-remote` has something to list. */
const GIT_REF = 'c0ffee0000000000000000000000000000000001';
function pktLine(text: string): string {
  return (Buffer.byteLength(text) + 4).toString(16).padStart(4, '0') + text;
}
const GIT_ADVERTISEMENT =
  pktLine('# service=git-upload-pack\n') +
  '0000' +
  pktLine(`${GIT_REF} refs/heads/main\0agent=grantd-test\n`) +
  '0000';

let upstream: TestUpstream;
let grantd: InProcessDaemon;
let env: NodeJS.ProcessEnv;
let proxyPort: number;

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

function python(check: string): boolean {
  return has('python3') && spawnSync('python3', ['-c', check]).status === 0;
}

/** Whether this Node reads HTTPS_PROXY under NODE_USE_ENV_PROXY (22.21+, 24.5+). */
function nodeHonoursEnvProxy(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 25 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21);
}

/** Why a snippet cannot run on this machine, or undefined when it can. */
function skipReason(name: string): string | undefined {
  const needs: [RegExp, () => string | undefined][] = [
    [/^curl-/, () => (has('curl') ? undefined : 'curl is not installed')],
    [
      /^python-requests/,
      () => (python('import requests') ? undefined : 'Python requests is not installed'),
    ],
    [
      /^python-httpx/,
      () =>
        python(
          'import httpx, sys; sys.exit(tuple(map(int, httpx.__version__.split(".")[:2])) < (0, 26))',
        )
          ? undefined
          : 'httpx 0.26 or later is not installed for python3',
    ],
    [
      /^node-fetch-env$/,
      () =>
        nodeHonoursEnvProxy()
          ? undefined
          : `Node ${process.versions.node} ignores NODE_USE_ENV_PROXY (see the test below)`,
    ],
    [
      /^java-/,
      () =>
        has('java') && has('javac') && has('keytool') ? undefined : 'no JDK (java, javac, keytool)',
    ],
    [/^git-/, () => (has('git') ? undefined : 'git is not installed')],
    [/^go-/, () => (has('go') ? undefined : 'Go is not installed')],
    [/^ruby-/, () => (has('ruby') ? undefined : 'Ruby is not installed')],
    [/^deno-/, () => (has('deno') ? undefined : 'Deno is not installed')],
  ];
  return needs.find(([pattern]) => pattern.test(name))?.[1]();
}

/** Runs one snippet the way its page says to, in that page's working folder. */
async function runSnippet(snippet: Snippet, cwd: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const code = withProxyPort(snippet.code, proxyPort);
  const runEnv = { ...env, ...extraEnv };
  switch (snippet.language) {
    case 'sh':
      return runIn(cwd, 'bash', ['-e', '-o', 'pipefail', '-c', code], runEnv);
    case 'python':
      return runIn(cwd, 'python3', ['-c', code], runEnv);
    case 'ruby':
      return runIn(cwd, 'ruby', ['-e', code], runEnv);
    case 'js':
      // From the repo root, so that `import 'undici'` finds the dev dependency.
      return runIn(ROOT, process.execPath, ['--input-type=module', '-e', code], runEnv);
    default:
      throw new Error(`${snippet.page}:${snippet.line}: no runner for ${snippet.language}`);
  }
}

async function runIn(cwd: string, file: string, args: string[], runEnv: NodeJS.ProcessEnv) {
  const child = spawn(file, args, { cwd, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The environment a reader has after the index page's setup, and nothing of grantd's yet. */
function readerEnv(home: string, configFile: string, key: string, bin: string): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      /^(https?_proxy|all_proxy|no_proxy|node_use_env_proxy|node_extra_ca_certs|ssl_cert_file|requests_ca_bundle|curl_ca_bundle|git_ssl_cainfo|deno_cert|java_tool_options)$/i.test(
        k,
      )
    )
      continue;
    base[k] = v;
  }
  return {
    ...base,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    GRANTD_HOME: home,
    GRANTD_CONFIG: configFile,
    GRANTD_APP_KEY: key,
    // git must not look for credentials or a user config of this machine.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    HOME: tempDir('grantd-reader-home-'),
  };
}

beforeAll(async () => {
  const pki = await createTestPki();
  upstream = await startUpstream(await pki.issue([HOST]));
  upstream.route('/org/repo.git/info/refs', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-advertisement' });
    res.end(GIT_ADVERTISEMENT);
  });
  const config: ConfigInput = {
    resolve: { [`${HOST}:443`]: `127.0.0.1:${upstream.port}` },
    upstream: { ca_file: pki.caPath },
    providers: {
      acme: {
        auth: 'api_key',
        hosts: [HOST],
        inject: { header: 'Authorization', format: 'Bearer {token}' },
      },
    },
  };
  grantd = await startInProcess(config);
  proxyPort = grantd.daemon.proxyAddress.port;

  // The CLI reads the same config, with the listener the daemon really got,
  // so `grantd env` prints the right proxy URL.
  const configFile = join(tempDir(), 'grantd.yaml');
  writeFileSync(
    configFile,
    stringify({
      ...config,
      home: grantd.config.home,
      listen: `127.0.0.1:${proxyPort}`,
      admin: '127.0.0.1:0',
    }),
  );
  const cliEnv = { GRANTD_HOME: grantd.config.home, GRANTD_CONFIG: configFile };
  const cli = async (args: string[], input?: string) => {
    const result = await runCli(args, { env: cliEnv, input });
    expect(result.code, `grantd ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout.trim();
  };
  await cli(['app', 'create', 'myapp']);
  const key = await cli(['key', 'mint', '--app', 'myapp']);
  await cli(['grant', 'add', 'acme', '--app', 'myapp', '--alias', 'acme', '--token-stdin'], TOKEN);

  // `grantd` on PATH, as `npm install -g .` would put it.
  const bin = tempDir('grantd-bin-');
  writeFileSync(join(bin, 'grantd'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'grantd'), 0o755);
  env = readerEnv(grantd.config.home, configFile, key, bin);
}, 60_000);

afterAll(async () => {
  await grantd?.close();
  await upstream?.close();
});

/** Checks that one call reached api.acme.test through grantd with the grant's token. */
function expectInjectedSince(before: number) {
  const seen = upstream.seen.slice(before);
  expect(seen.length, 'the upstream received no request').toBeGreaterThan(0);
  for (const request of seen) {
    expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['proxy-authorization']).toBeUndefined();
    expect(request.headers['grantd-grant']).toBeUndefined();
  }
}

/** What a snippet prints on success: curl the echoed request, git the ref, the rest the status. */
function expectedOutput(name: string): RegExp {
  if (name.startsWith('curl-')) return /"url":"\/v1\/whoami"/;
  if (name.startsWith('git-')) return new RegExp(`^${GIT_REF}\trefs/heads/main$`, 'm');
  return /^200$/m;
}

const pages = clientPages();

it('has a marked, unique snippet name for every runnable block, on every page the index lists', () => {
  const names = pages.flatMap((page) => extractSnippets(page).map((s) => s.name));
  expect(new Set(names).size).toBe(names.length);
  expect(pages).toEqual(
    expect.arrayContaining(
      ['curl', 'python', 'node', 'go', 'java', 'ruby', 'dotnet', 'git', 'deno'].map(
        (name) => `docs/clients/${name}.md`,
      ),
    ),
  );
});

for (const page of pages) {
  const snippets = extractSnippets(page);
  if (snippets.length === 0) continue;

  describe(page, () => {
    const cwd = tempDir('grantd-snippets-');
    mkdirSync(cwd, { recursive: true });

    for (const snippet of snippets) {
      const reason = skipReason(snippet.name);
      const title = `${snippet.name}${reason ? ` (skipped: ${reason})` : ''}`;

      if (snippet.file) {
        it.skipIf(reason !== undefined)(`${title}: writes ${snippet.file}`, () => {
          writeFileSync(join(cwd, snippet.file as string), withProxyPort(snippet.code, proxyPort));
        });
        continue;
      }

      it.skipIf(reason !== undefined)(
        title,
        async () => {
          const before = upstream.seen.length;
          const result = await runSnippet(snippet, cwd);
          expect(result.code, `${page}:${snippet.line}\n${result.stderr}`).toBe(0);
          if (snippet.name === 'java-truststore') return;
          expect(result.stdout).toMatch(expectedOutput(snippet.name));
          expectInjectedSince(before);
        },
        60_000,
      );
    }
  });
}

describe('the caveats the pages state', () => {
  it.skipIf(skipReason('java-run') !== undefined)(
    'Java answers grantd’s 407 only with Basic allowed for tunnels (java.md)',
    async () => {
      const page = 'docs/clients/java.md';
      const snippets = extractSnippets(page);
      const cwd = tempDir('grantd-java-');
      writeFileSync(
        join(cwd, 'GrantdExample.java'),
        withProxyPort(snippets.find((s) => s.file)?.code ?? '', proxyPort),
      );
      const truststore = snippets.find((s) => s.name === 'java-truststore') as Snippet;
      expect((await runSnippet(truststore, cwd)).code).toBe(0);

      const run = snippets.find((s) => s.name === 'java-run') as Snippet;
      expect(run.code).toContain('-Djdk.http.auth.tunneling.disabledSchemes= ');
      const withDefault = {
        ...run,
        code: run.code.replace('-Djdk.http.auth.tunneling.disabledSchemes= ', ''),
      };
      const before = upstream.seen.length;
      const result = await runSnippet(withDefault, cwd);
      // HttpClient returns grantd's 407 as the response; the key never went out.
      expect(result.stdout.trim()).toBe('407');
      expect(upstream.seen.length).toBe(before);
    },
    60_000,
  );

  it.skipIf(nodeHonoursEnvProxy())(
    `Node ${process.versions.node} does not use HTTPS_PROXY in fetch, as node.md says`,
    async () => {
      const page = extractSnippets('docs/clients/node.md');
      const text = readFileSync(join(ROOT, 'docs/clients/node.md'), 'utf8');
      expect(text).toMatch(/24\.5\.0 and 22\.21\.0/);
      expect(text).toMatch(/Node 20\s+ignores/);
      // The snippet still runs; fetch just goes direct and cannot resolve api.acme.test.
      const snippet = page.find((s) => s.name === 'node-fetch-env') as Snippet;
      const before = upstream.seen.length;
      const result = await runSnippet(snippet, tempDir());
      expect(result.code).not.toBe(0);
      expect(upstream.seen.length).toBe(before);
    },
    30_000,
  );
});

it("gives snippets none of this machine's proxy variables", async () => {
  // Guards the harness itself: a proxy variable leaking in from the machine
  // would let snippets pass without configuring anything.
  const result = await runIn(tempDir(), 'sh', ['-c', 'env | grep -i _proxy= || true'], env);
  expect(result.stdout).toBe('');
});
