import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { loadOrCreateAuthority } from '../../../src/ca/authority.js';
import { Store } from '../../../src/store/store.js';
import { CLI, ROOT, tempDir } from '../../helpers/daemon.js';
import { findObject, podSpecOf, readObjects } from '../deploy/manifests.js';
import { extractSnippets, type Snippet } from './snippets.js';

// Runs the commands docs/kubernetes.md gives for the Secrets, the app's key and
// a grant, against a stand-in `kubectl` (fake-kubectl.sh beside this file),
// then checks that the Secrets are exactly the ones the manifests read, in a
// form grantd accepts.

let work: string;
let secrets: string;
let data: string;
let env: NodeJS.ProcessEnv;
const OPENAI_KEY = 'sk-proj-k8s-guide-5e4d3c2b1a09';
const snippets = extractSnippets('docs/kubernetes.md');

/**
 * A snippet's code, after the one-line shell functions that earlier snippets
 * on the page define (`grantd_k() { … }`), as they would be in the reader's
 * shell.
 */
function snippet(name: string): { code: string } {
  const at = snippets.findIndex((s) => s.name === name);
  if (at < 0) throw new Error(`docs/kubernetes.md has no snippet ${name}`);
  const functions = snippets
    .slice(0, at)
    .flatMap((s) => s.code.split('\n').filter((line) => /^[a-z_]+\(\) \{.*\}$/.test(line)));
  return { code: [...functions, (snippets[at] as Snippet).code].join('\n') };
}

async function runSh(code: string) {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code], {
    cwd: work,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code_] = (await once(child, 'close')) as [number | null];
  return { code: code_, stdout, stderr };
}

/** Every Secret key the pod spec reads, as `name/key`. */
function referencedSecrets(): string[] {
  const pod = podSpecOf(findObject(readObjects(), 'Deployment'));
  const refs = new Set<string>();
  for (const c of [...pod.initContainers, ...pod.containers]) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) refs.add(`${ref.name}/${ref.key}`);
    }
  }
  for (const v of pod.volumes) {
    for (const item of v.secret?.items ?? []) refs.add(`${v.secret?.secretName}/${item.key}`);
  }
  return [...refs].sort();
}

beforeAll(() => {
  work = tempDir('grantd-k8s-guide-');
  secrets = join(work, 'secrets');
  data = join(work, 'data');
  const bin = join(work, 'bin');
  for (const dir of [secrets, data, bin]) mkdirSync(dir, { recursive: true });
  copyFileSync(join(import.meta.dirname, 'fake-kubectl.sh'), join(bin, 'kubectl'));
  writeFileSync(join(bin, 'grantd'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  for (const tool of ['kubectl', 'grantd']) chmodSync(join(bin, tool), 0o755);

  const configMap = findObject(readObjects(), 'ConfigMap', 'grantd-config');
  const configFile = join(work, 'grantd.yaml');
  writeFileSync(configFile, (configMap.data as Record<string, string>)['grantd.yaml'] as string);

  env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: work,
    FAKE_SECRETS: secrets,
    FAKE_DATA: data,
    FAKE_CONFIG: configFile,
    FAKE_APP: ROOT,
    FAKE_NODE: process.execPath,
    OPENAI_API_KEY: OPENAI_KEY,
  };
});

describe('the commands of docs/kubernetes.md', () => {
  it('make the CA Secret from a CA grantd made, and keep its public certificate', async () => {
    const result = await runSh(snippet('k8s-ca-secret').code);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const home = tempDir();
    mkdirSync(join(home, 'ca'), { mode: 0o700 });
    writeFileSync(
      join(home, 'ca', 'ca-key.pem'),
      readFileSync(join(secrets, 'grantd-ca', 'ca-key.pem')),
      {
        mode: 0o600,
      },
    );
    const ca = await loadOrCreateAuthority(home);
    expect(ca.created).toBe(false);
    expect(readFileSync(join(work, 'grantd-ca.pem'), 'utf8')).toBe(ca.certPem);
  });

  it('make a vault key of 32 bytes, stored without a newline', async () => {
    const result = await runSh(snippet('k8s-vault-key').code);
    expect(result.code, result.stderr).toBe(0);
    const value = readFileSync(join(secrets, 'grantd-vault-key', 'vault-key'), 'utf8');
    expect(value).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(value, 'base64')).toHaveLength(32);
  });

  it("mint the app's key in the sidecar and store it, alone, in the app's Secret", async () => {
    const result = await runSh(snippet('k8s-app-key').code);
    expect(result.code, result.stderr).toBe(0);
    const key = readFileSync(join(secrets, 'example-app-grantd-key', 'key'), 'utf8');
    expect(key).toMatch(/^gk_[A-Za-z0-9]{32,}$/);
    const store = Store.open(data);
    try {
      expect(store.keys.verify(key)?.appId).toBe(store.apps.byName('example-app')?.id);
    } finally {
      store.close();
    }
  });

  it('add a grant through the sidecar, its token in the vault under the Secret key', async () => {
    const result = await runSh(snippet('k8s-grant').code);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/openai/);
    expect(existsSync(join(data, 'vault.enc'))).toBe(true);
    expect(readFileSync(join(data, 'vault.enc')).includes(OPENAI_KEY)).toBe(false);
  });

  it('create exactly the Secrets and keys the manifests read', () => {
    const created = readdirSync(secrets).flatMap((name) =>
      readdirSync(join(secrets, name)).map((key) => `${name}/${key}`),
    );
    expect(created.sort()).toEqual(referencedSecrets());
  });
});
