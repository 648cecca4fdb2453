import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join } from 'node:path';

import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadOrCreateAuthority } from '../../../src/ca/authority.js';
import { buildProxyEnv } from '../../../src/cli/proxy-env.js';
import { buildConfig, type LoadedConfig } from '../../../src/config/load.js';
import { runProcess } from '../../helpers/clients.js';
import { ROOT, startInProcess, tempDir } from '../../helpers/daemon.js';
import {
  containerNamed,
  dockerfileRuntime,
  effectiveEnv,
  envValue,
  findObject,
  mountPathOf,
  podSpecOf,
  readManifestFiles,
  readObjects,
  type Container,
  type KubeObject,
  type PodSpec,
} from './manifests.js';

// Field names of the Kubernetes 1.29 API for the objects used here. A field
// outside these lists is a typo or needs a newer cluster than we promise
// (appArmorProfile and recursiveReadOnly, for example, are 1.30+).
const CONTAINER_FIELDS = new Set([
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'ports',
  'envFrom',
  'env',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'volumeMounts',
  'volumeDevices',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
]);
const POD_FIELDS = new Set([
  'volumes',
  'initContainers',
  'containers',
  'ephemeralContainers',
  'restartPolicy',
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'dnsPolicy',
  'nodeSelector',
  'serviceAccountName',
  'automountServiceAccountToken',
  'nodeName',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'shareProcessNamespace',
  'securityContext',
  'imagePullSecrets',
  'hostname',
  'subdomain',
  'affinity',
  'schedulerName',
  'tolerations',
  'hostAliases',
  'priorityClassName',
  'priority',
  'dnsConfig',
  'readinessGates',
  'runtimeClassName',
  'enableServiceLinks',
  'preemptionPolicy',
  'overhead',
  'topologySpreadConstraints',
  'setHostnameAsFQDN',
  'os',
  'hostUsers',
  'schedulingGates',
  'resourceClaims',
]);
const POD_SECURITY_FIELDS = new Set([
  'seLinuxOptions',
  'windowsOptions',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'supplementalGroups',
  'fsGroup',
  'sysctls',
  'fsGroupChangePolicy',
  'seccompProfile',
]);
const SECURITY_FIELDS = new Set([
  'capabilities',
  'privileged',
  'seLinuxOptions',
  'windowsOptions',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'readOnlyRootFilesystem',
  'allowPrivilegeEscalation',
  'procMount',
  'seccompProfile',
]);
const PROBE_FIELDS = new Set([
  'exec',
  'httpGet',
  'tcpSocket',
  'grpc',
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
  'terminationGracePeriodSeconds',
]);
const MOUNT_FIELDS = new Set([
  'name',
  'readOnly',
  'mountPath',
  'subPath',
  'mountPropagation',
  'subPathExpr',
]);

/** Stand-ins for Secret values where a test needs the environment a process would see. */
const SECRET_PLACEHOLDERS: Record<string, string> = {
  'grantd-vault-key/vault-key': Buffer.alloc(32, 7).toString('base64'),
  'example-app-grantd-key/key': 'gk_' + 'a'.repeat(32),
};
const secretValue = (ref: { name: string; key: string }) => {
  const value = SECRET_PLACEHOLDERS[`${ref.name}/${ref.key}`];
  if (value === undefined) throw new Error(`no placeholder for Secret ${ref.name}/${ref.key}`);
  return value;
};

let objects: KubeObject[];
let pod: PodSpec;
let grantd: Container;
let caInit: Container;
let app: Container;
let config: LoadedConfig;

beforeAll(() => {
  objects = readObjects();
  pod = podSpecOf(findObject(objects, 'Deployment'));
  grantd = containerNamed(pod, 'grantd');
  caInit = containerNamed(pod, 'grantd-ca');
  app = containerNamed(pod, 'app');
  const configMap = findObject(objects, 'ConfigMap', 'grantd-config');
  const configPath = effectiveEnv(grantd, secretValue).GRANTD_CONFIG as string;
  const text = (configMap.data as Record<string, string>)[basename(configPath)];
  if (text === undefined) throw new Error(`grantd-config has no key ${basename(configPath)}`);
  config = buildConfig(parse(text), { env: effectiveEnv(grantd, secretValue) });
});

describe('the manifest files', () => {
  it('parse, and kustomization.yaml lists every other file exactly once', () => {
    const files = readManifestFiles();
    const kustomization = files.find((f) => f.file === 'kustomization.yaml')?.docs[0] as {
      resources: string[];
      images: { name: string }[];
    };
    expect(kustomization).toBeDefined();
    const others = files.map((f) => f.file).filter((f) => f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(others);
    // Every image a container names is one the kustomization rewrites.
    const images = new Set(kustomization.images.map((i) => i.name));
    for (const c of [...pod.initContainers, ...pod.containers]) expect(images).toContain(c.image);
  });

  it('use only fields of the Kubernetes 1.29 API in the pod spec', () => {
    const unknown = (fields: Set<string>, value: unknown, at: string) =>
      Object.keys(value as object)
        .filter((k) => !fields.has(k))
        .map((k) => `${at}.${k}`);
    const problems = [
      ...unknown(POD_FIELDS, pod, 'spec'),
      ...unknown(POD_SECURITY_FIELDS, pod.securityContext, 'spec.securityContext'),
    ];
    for (const c of [...pod.initContainers, ...pod.containers]) {
      problems.push(...unknown(CONTAINER_FIELDS, c, c.name));
      problems.push(
        ...unknown(SECURITY_FIELDS, c.securityContext ?? {}, `${c.name}.securityContext`),
      );
      for (const m of c.volumeMounts ?? [])
        problems.push(...unknown(MOUNT_FIELDS, m, `${c.name}.volumeMounts`));
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        if (c[kind]) problems.push(...unknown(PROBE_FIELDS, c[kind], `${c.name}.${kind}`));
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('grantd as a native sidecar', () => {
  it('is an init container with restartPolicy Always, after the CA step, and not a regular container', () => {
    const names = pod.initContainers.map((c) => c.name);
    expect(names).toEqual(['grantd-ca', 'grantd']);
    expect(grantd.restartPolicy).toBe('Always');
    expect(pod.containers.map((c) => c.name)).not.toContain('grantd');
    // restartPolicy on a regular container, or probes on a plain init
    // container, are rejected by the API server.
    for (const c of pod.containers) expect(c.restartPolicy).toBeUndefined();
    expect(caInit.restartPolicy).toBeUndefined();
    expect(caInit.startupProbe ?? caInit.readinessProbe ?? caInit.livenessProbe).toBeUndefined();
  });

  it("runs the image's entrypoint with `start`", () => {
    expect(grantd.command).toBeUndefined();
    expect(grantd.args).toEqual(['start']);
  });

  it('loads the ConfigMap with listen and admin on loopback 8790/8791 and the file vault', () => {
    expect(config.listen).toBe('127.0.0.1:8790');
    expect(config.admin).toBe('127.0.0.1:8791');
    expect(config.home).toBe('/data');
    expect(config.vault).toEqual({ backend: 'file', key: 'env:GRANTD_VAULT_KEY' });
    expect(config.auth.required).toBe(true);
    expect(config.log.format).toBe('json');
  });

  it('gets the vault key from a Secret, under the name the config reads', () => {
    const name = (config.vault.key as string).slice('env:'.length);
    const entry = grantd.env?.find((e) => e.name === name);
    expect(entry?.value).toBeUndefined();
    expect(entry?.valueFrom?.secretKeyRef).toEqual({ name: 'grantd-vault-key', key: 'vault-key' });
    // Only grantd holds it: neither the app nor the CA step.
    for (const c of [app, caInit]) expect(c.env?.map((e) => e.name)).not.toContain(name);
  });

  it('reads its config from the ConfigMap mount, and its data folder from the volume', () => {
    const env = effectiveEnv(grantd, secretValue);
    expect(mountPathOf(grantd, 'grantd-config')).toBe(dirname(env.GRANTD_CONFIG as string));
    // GRANTD_HOME overrides the config's home: both must name the data mount.
    expect(env.GRANTD_HOME).toBe(config.home);
    expect(mountPathOf(grantd, 'grantd-data')).toBe(config.home);
    expect(mountPathOf(caInit, 'grantd-data')).toBe(effectiveEnv(caInit, secretValue).GRANTD_HOME);
    const data = pod.volumes.find((v) => v.name === 'grantd-data');
    const claim = findObject(
      objects,
      'PersistentVolumeClaim',
      data?.persistentVolumeClaim?.claimName,
    );
    expect((claim.spec as { accessModes: string[] }).accessModes).toEqual(['ReadWriteOnce']);
  });

  it('has probes on the admin port: startup and readiness on /readyz, liveness on /healthz', () => {
    const urlOf = (probe: Container['startupProbe']) => {
      expect(
        probe?.httpGet,
        'an httpGet probe would go to the pod IP, not loopback',
      ).toBeUndefined();
      const script = probe?.exec?.command.join(' ') ?? '';
      return /https?:\/\/[^'"\s]+/.exec(script)?.[0];
    };
    expect(urlOf(grantd.startupProbe)).toBe(`http://${config.admin}/readyz`);
    expect(urlOf(grantd.readinessProbe)).toBe(`http://${config.admin}/readyz`);
    expect(urlOf(grantd.livenessProbe)).toBe(`http://${config.admin}/healthz`);
    // Each probe must finish inside its timeout, and the startup probe must
    // give grantd a while (open the store, load the CA) before it fails.
    for (const probe of [grantd.startupProbe, grantd.readinessProbe, grantd.livenessProbe]) {
      expect(probe?.timeoutSeconds).toBeGreaterThanOrEqual(3);
    }
    const startup = grantd.startupProbe as { periodSeconds: number; failureThreshold: number };
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(20);
  });
});

describe('the probe commands', () => {
  let daemon: Awaited<ReturnType<typeof startInProcess>>;
  let notReady: ReturnType<typeof createServer>;
  let notReadyPort: number;

  beforeAll(async () => {
    daemon = await startInProcess();
    notReady = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? 200 : 503).end();
    }).listen(0, '127.0.0.1');
    await once(notReady, 'listening');
    notReadyPort = (notReady.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await daemon?.close();
    notReady?.close();
  });

  /** Runs a probe's exec command with the admin address swapped for a test one. */
  async function runProbe(probe: Container['startupProbe'], address: string) {
    const [file, ...args] = (probe?.exec?.command ?? []).map((part) =>
      part.replaceAll(config.admin, address),
    );
    const result = await runProcess(file === 'node' ? process.execPath : (file as string), args);
    return result.code;
  }

  it('pass against a ready grantd', async () => {
    const address = new URL(daemon.adminUrl).host;
    for (const probe of [grantd.startupProbe, grantd.readinessProbe, grantd.livenessProbe]) {
      expect(await runProbe(probe, address)).toBe(0);
    }
  });

  it('fail when /readyz answers 503, while liveness still passes', async () => {
    const address = `127.0.0.1:${notReadyPort}`;
    expect(await runProbe(grantd.startupProbe, address)).toBe(1);
    expect(await runProbe(grantd.readinessProbe, address)).toBe(1);
    expect(await runProbe(grantd.livenessProbe, address)).toBe(0);
  });

  it('fail when nothing listens', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const address = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    expect(await runProbe(grantd.livenessProbe, address)).toBe(1);
  });
});

describe('the app container', () => {
  it('sends its traffic to the proxy listener with its key from a Secret', () => {
    const keyEntry = app.env?.findIndex((e) => e.name === 'GRANTD_APP_KEY') ?? -1;
    expect(app.env?.[keyEntry]?.valueFrom?.secretKeyRef).toEqual({
      name: 'example-app-grantd-key',
      key: 'key',
    });
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) {
      const value = envValue(app, name);
      expect(value, name).toBe(`http://_:$(GRANTD_APP_KEY)@${config.listen}`);
      // $(VAR) expands only variables declared earlier in the list.
      const at = app.env?.findIndex((e) => e.name === name) ?? -1;
      expect(at, name).toBeGreaterThan(keyEntry);
    }
    const env = effectiveEnv(app, secretValue);
    const proxy = new URL(env.HTTPS_PROXY as string);
    expect(proxy.host).toBe('127.0.0.1:8790');
    expect(proxy.password).toBe(SECRET_PLACEHOLDERS['example-app-grantd-key/key']);
  });

  it('sets every variable `grantd env` prints, with CA paths on the trust mount', async () => {
    const home = join(tempDir(), 'home');
    const vars = new Map(await buildProxyEnv({ ...config, home }));
    const env = effectiveEnv(app, secretValue);
    const trustMount = mountPathOf(app, 'grantd-trust') as string;
    expect(trustMount).toBeDefined();

    for (const [name, local] of vars) {
      const value = env[name];
      expect(value, name).toBeDefined();
      if (local.startsWith(home)) {
        // The same file grantd names locally (ca.pem or bundle.pem), on the mount.
        expect(value, name).toBe(join(trustMount, basename(local)));
      } else if (/^https?_proxy$/i.test(name)) {
        expect(new URL(value as string).host, name).toBe(new URL(local).host);
      } else if (name.toLowerCase() === 'no_proxy') {
        for (const host of local.split(','))
          expect((value as string).split(','), name).toContain(host);
      } else {
        expect(value, name).toBe(local);
      }
    }
    expect(basename(env.NODE_EXTRA_CA_CERTS as string)).toBe('ca.pem');
    for (const name of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE']) {
      expect(basename(env[name] as string), name).toBe('bundle.pem');
    }
  });

  it('mounts nothing of grantd but the trust files, read-only', () => {
    const mounted = (app.volumeMounts ?? []).map((m) => m.name);
    for (const name of ['grantd-data', 'grantd-ca', 'grantd-config'])
      expect(mounted).not.toContain(name);
    expect(app.volumeMounts?.find((m) => m.name === 'grantd-trust')?.readOnly).toBe(true);
    // The CA step writes the trust files into that same volume.
    expect(mountPathOf(caInit, 'grantd-trust')).toBeDefined();
    expect(mountPathOf(grantd, 'grantd-ca')).toBeUndefined();
  });
});

describe('volumes and mounts', () => {
  it('every mount names a declared volume, and every volume is mounted somewhere', () => {
    const declared = pod.volumes.map((v) => v.name);
    expect(new Set(declared).size).toBe(declared.length);
    const used = new Set<string>();
    for (const c of [...pod.initContainers, ...pod.containers]) {
      const paths = (c.volumeMounts ?? []).map((m) => m.mountPath);
      expect(new Set(paths).size, `${c.name} mounts two volumes at one path`).toBe(paths.length);
      for (const m of c.volumeMounts ?? []) {
        expect(declared, `${c.name} mounts ${m.name}`).toContain(m.name);
        used.add(m.name);
      }
    }
    expect([...used].sort()).toEqual([...declared].sort());
  });

  it('mounts the CA Secret only into the CA step, with only the key file', () => {
    const volume = pod.volumes.find((v) => v.name === 'grantd-ca');
    expect(volume?.secret?.secretName).toBe('grantd-ca');
    expect(volume?.secret?.items).toEqual([{ key: 'ca-key.pem', path: 'ca-key.pem' }]);
    const mounting = [...pod.initContainers, ...pod.containers].filter((c) =>
      mountPathOf(c, 'grantd-ca'),
    );
    expect(mounting.map((c) => c.name)).toEqual(['grantd-ca']);
  });

  it('gives every container a writable /tmp, as the root file systems are read-only', () => {
    for (const c of [grantd, app]) {
      const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(tmp, c.name).toBeDefined();
      expect(pod.volumes.find((v) => v.name === tmp?.name)?.emptyDir, c.name).toBeDefined();
    }
  });
});

describe('security and resources', () => {
  const all = () => [...pod.initContainers, ...pod.containers];

  it('locks down every container', () => {
    for (const c of all()) {
      const sc = c.securityContext as Record<string, unknown>;
      expect(sc, c.name).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(sc.privileged, c.name).toBeUndefined();
      expect((sc.capabilities as { add?: unknown }).add, c.name).toBeUndefined();
      expect(sc.runAsUser, c.name).toBeGreaterThan(0);
    }
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.shareProcessNamespace).toBe(false);
  });

  it("runs grantd's containers as the Dockerfile's user, and the app as another", () => {
    const [uid, gid] = (dockerfileRuntime().user ?? '').split(':').map(Number);
    expect(uid).toBe(10001);
    for (const c of [grantd, caInit]) {
      expect(c.securityContext, c.name).toMatchObject({ runAsUser: uid, runAsGroup: gid });
    }
    expect(pod.securityContext.fsGroup).toBe(gid);
    expect(app.securityContext?.runAsUser).not.toBe(uid);
  });

  it('sets CPU and memory requests and limits on every container', () => {
    for (const c of all()) {
      for (const kind of ['requests', 'limits'] as const) {
        expect(Object.keys(c.resources?.[kind] ?? {}).sort(), `${c.name} ${kind}`).toEqual([
          'cpu',
          'memory',
        ]);
      }
    }
  });
});

describe('the NetworkPolicy', () => {
  it('selects the pod and allows egress only to DNS and TCP 443 outside private ranges', () => {
    const policy = findObject(objects, 'NetworkPolicy');
    const spec = policy.spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      egress: {
        to: { ipBlock?: { cidr: string; except?: string[] } }[];
        ports: { protocol: string; port: number }[];
      }[];
    };
    const labels = (
      findObject(objects, 'Deployment').spec as {
        template: { metadata: { labels: Record<string, string> } };
      }
    ).template.metadata.labels;
    expect(labels).toMatchObject(spec.podSelector.matchLabels);
    expect(spec.policyTypes).toContain('Egress');
    const ports = spec.egress.flatMap((rule) => rule.ports.map((p) => `${p.protocol}/${p.port}`));
    expect(ports.sort()).toEqual(['TCP/443', 'TCP/53', 'UDP/53']);
    const https = spec.egress.find((rule) => rule.ports.some((p) => p.port === 443));
    expect(https?.to[0]?.ipBlock?.except).toEqual(
      expect.arrayContaining(['169.254.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
    );
  });
});

describe('the CA step', () => {
  /**
   * Runs the grantd-ca init container's script on this machine: each of its
   * mount paths (and /app, the image's WORKDIR) is mapped onto a folder here,
   * as the kubelet would bind the volumes.
   */
  async function runCaStep(mounts: Record<string, string>) {
    const pathMap: [string, string][] = [
      ...Object.entries(mounts),
      ['/app', ROOT] as [string, string],
    ];
    // Longest first, so /etc/grantd-ca is not taken for a /etc/grantd prefix.
    pathMap.sort((a, b) => b[0].length - a[0].length);
    const remap = (text: string) =>
      pathMap.reduce(
        (out, [from, to]) => out.replace(new RegExp(`${from}(?=[/\\s'"]|$)`, 'gm'), to),
        text,
      );
    const [shell, flag] = caInit.command ?? [];
    const env = Object.fromEntries(
      Object.entries(effectiveEnv(caInit, secretValue)).map(([k, v]) => [k, remap(v)]),
    );
    return runProcess(shell as string, [flag as string, remap(caInit.args?.[0] ?? '')], env);
  }

  function podFolders() {
    const base = tempDir('grantd-pod-');
    const folders: Record<string, string> = {};
    for (const m of caInit.volumeMounts ?? []) {
      folders[m.mountPath] = join(base, m.name);
      mkdirSync(folders[m.mountPath] as string, { recursive: true });
    }
    return folders;
  }

  /** A CA as docs/kubernetes.md makes one: grantd's own, from a throwaway data folder. */
  async function makeCaSecret(into: string) {
    const home = tempDir('grantd-ca-src-');
    const ca = await loadOrCreateAuthority(home);
    cpSync(ca.paths.key, join(into, 'ca-key.pem'));
    return ca;
  }

  it('installs the Secret CA so grantd presents it, and hands the app its certificate', async () => {
    const folders = podFolders();
    const secretDir = folders[mountPathOf(caInit, 'grantd-ca') as string] as string;
    const dataDir = folders[mountPathOf(caInit, 'grantd-data') as string] as string;
    const trustDir = folders[mountPathOf(caInit, 'grantd-trust') as string] as string;
    const ca = await makeCaSecret(secretDir);

    const result = await runCaStep(folders);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    expect(statSync(join(dataDir, 'ca')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'ca', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(trustDir, 'ca.pem'), 'utf8')).toBe(ca.certPem);
    const bundle = readFileSync(join(trustDir, 'bundle.pem'), 'utf8');
    expect(bundle).toContain(ca.certPem.trim());
    expect(bundle.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(10);

    // grantd started on that data folder signs with the Secret's CA.
    const daemon = await startInProcess({ home: dataDir });
    try {
      expect(daemon.daemon.authority.fingerprint256).toBe(ca.fingerprint256);
      expect(daemon.daemon.authority.created).toBe(false);
    } finally {
      await daemon.close();
    }
  });

  it('replaces the CA on the next pod start after the Secret changes (rotation)', async () => {
    const folders = podFolders();
    const secretDir = folders[mountPathOf(caInit, 'grantd-ca') as string] as string;
    const dataDir = folders[mountPathOf(caInit, 'grantd-data') as string] as string;
    const trustDir = folders[mountPathOf(caInit, 'grantd-trust') as string] as string;
    await makeCaSecret(secretDir);
    expect((await runCaStep(folders)).code).toBe(0);

    const next = await makeCaSecret(secretDir);
    // A new pod gets a fresh emptyDir for the trust files; the data volume stays.
    writeFileSync(join(trustDir, 'ca.pem'), '');
    expect((await runCaStep(folders)).code).toBe(0);
    const trusted = new X509Certificate(readFileSync(join(trustDir, 'ca.pem')));
    expect(trusted.fingerprint256).toBe(next.fingerprint256);
    const daemon = await startInProcess({ home: dataDir });
    try {
      expect(daemon.daemon.authority.fingerprint256).toBe(next.fingerprint256);
    } finally {
      await daemon.close();
    }
  });

  it('fails, rather than making a CA of its own, when the Secret holds no key', async () => {
    const folders = podFolders();
    const result = await runCaStep(folders);
    expect(result.code).not.toBe(0);
    const dataDir = folders[mountPathOf(caInit, 'grantd-data') as string] as string;
    expect(() => statSync(join(dataDir, 'ca', 'ca-key.pem'))).toThrow();
  });
});
