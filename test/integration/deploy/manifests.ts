import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';

import { ROOT } from '../../helpers/daemon.js';

/** The folder `kubectl apply -k` is pointed at. */
export const KUBE_DIR = join(ROOT, 'deploy', 'kubernetes');

/** One Kubernetes object as parsed, loosely typed: tests assert on its shape. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; [source: string]: unknown };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export interface Probe {
  exec?: { command: string[] };
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  restartPolicy?: string;
  volumeMounts?: VolumeMount[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  securityContext?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: Record<string, unknown>;
  [source: string]: unknown;
}

export interface PodSpec {
  initContainers: Container[];
  containers: Container[];
  volumes: Volume[];
  securityContext: Record<string, unknown>;
  [field: string]: unknown;
}

/** Every YAML file in deploy/kubernetes, parsed; YAML errors fail the caller. */
export function readManifestFiles(): { file: string; docs: unknown[] }[] {
  return readdirSync(KUBE_DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((file) => {
      const docs = parseAllDocuments(readFileSync(join(KUBE_DIR, file), 'utf8'), {
        uniqueKeys: true,
      });
      const list = Array.isArray(docs) ? docs : [docs];
      for (const doc of list) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      }
      return { file, docs: list.map((doc) => doc.toJS() as unknown) };
    });
}

/** The Kubernetes objects (everything but kustomization.yaml), by kind and name. */
export function readObjects(): KubeObject[] {
  return readManifestFiles()
    .filter(({ file }) => file !== 'kustomization.yaml')
    .flatMap(({ docs }) => docs as KubeObject[]);
}

export function findObject(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0] as KubeObject;
}

export function podSpecOf(deployment: KubeObject): PodSpec {
  const spec = deployment.spec as { template: { spec: PodSpec } };
  return spec.template.spec;
}

export function containerNamed(pod: PodSpec, name: string): Container {
  const all = [...(pod.initContainers ?? []), ...pod.containers];
  const found = all.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

export function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

/** Where a container sees a volume, or undefined when it does not mount it. */
export function mountPathOf(container: Container, volume: string): string | undefined {
  return container.volumeMounts?.find((m) => m.name === volume)?.mountPath;
}

/**
 * The image's environment from the Dockerfile's last stage (`ENV K=V …` with
 * line continuations), which a container's `env` extends and overrides.
 */
export function dockerfileRuntime(): { env: Record<string, string>; user: string | undefined } {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const lines = text.split('\n');
  const lastFrom = lines.findLastIndex((line) => /^FROM\s/i.test(line));
  const env: Record<string, string> = {};
  let user: string | undefined;
  for (const line of lines.slice(lastFrom)) {
    const envMatch = /^ENV\s+(.*)$/i.exec(line);
    if (envMatch) {
      for (const pair of (envMatch[1] as string).matchAll(
        /([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g,
      )) {
        env[pair[1] as string] = (pair[2] as string).replace(/^"|"$/g, '');
      }
    }
    const userMatch = /^USER\s+(\S+)/i.exec(line);
    if (userMatch) user = userMatch[1];
  }
  return { env, user };
}

/**
 * A container's environment as the process would see it: the image's ENV,
 * then the container's `env`. `$(VAR)` expands only names defined earlier in
 * that list, as the kubelet does (not the image's ENV); secret references
 * become the placeholder given for them.
 */
export function effectiveEnv(
  container: Container,
  secrets: (ref: { name: string; key: string }) => string,
): Record<string, string> {
  const declared: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    const ref = entry.valueFrom?.secretKeyRef;
    declared[entry.name] = ref
      ? secrets(ref)
      : (entry.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) =>
          name in declared ? (declared[name] as string) : whole,
        );
  }
  return { ...dockerfileRuntime().env, ...declared };
}
