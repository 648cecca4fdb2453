import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';

import { parseDocument } from 'yaml';
import type { z } from 'zod';

import { ConfigError } from '../errors.js';
import { ProviderRegistry } from '../providers/registry.js';
import { parseHostPort, type HostPort } from '../util/hosts.js';
import { defaultDataDir, expandHome } from './paths.js';
import { configSchema, type Config } from './schema.js';

/** Keys whose values may be `file:PATH` and are never echoed in errors. */
const SECRET_KEYS = new Set(['client_secret', 'client_id']);

/** The configuration grantd runs with, plus what was derived from it. */
export interface LoadedConfig extends Config {
  /** The data folder, absolute. */
  home: string;
  /** The file the configuration came from; undefined for the built-in defaults. */
  source: string | undefined;
  /** `resolve:` entries keyed by canonical `host:port`. */
  resolveMap: ReadonlyMap<string, HostPort>;
}

export interface LoadOptions {
  /** A path from `--config`; falls back to `GRANTD_CONFIG`, then to the defaults. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

type Path = (string | number)[];

/**
 * Reads, expands, validates and completes the configuration. Every problem
 * found is collected and thrown at once as a ConfigError, each line naming
 * the key and, unless the key holds a secret, the value at fault.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.GRANTD_CONFIG || undefined);
  const source = file === undefined ? undefined : resolvePath(expandHome(file));
  const raw = source === undefined ? {} : readYaml(source);
  return buildConfig(raw, { env, source });
}

/** Validates an already-parsed document; the entry point for tests and reloads. */
export function buildConfig(
  raw: unknown,
  { env = process.env, source }: { env?: NodeJS.ProcessEnv; source?: string | undefined } = {},
): LoadedConfig {
  const issues: string[] = [];
  const expanded = expandValues(raw ?? {}, [], env, issues);
  // A key whose ${VAR} or file: could not be read is already reported; the
  // schema's complaint about the empty value left behind would only repeat it.
  const reported = new Set(issues.map((issue) => issue.slice(0, issue.indexOf(': '))));
  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const line = describeIssue(issue, expanded);
      if (!reported.has(line.slice(0, line.indexOf(': ')))) issues.push(line);
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);

  const config = parsed.data;
  const resolveMap = buildResolveMap(config);
  issues.push(...crossFieldIssues(config));
  if (issues.length > 0) throw new ConfigError(issues);

  const home = resolvePath(expandHome(env.GRANTD_HOME || config.home || defaultDataDir(env)));
  return { ...config, home, source, resolveMap };
}

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError([`cannot read config file ${path}: ${code}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${path}: ${e.message.split('\n')[0]}`));
  }
  return doc.toJS() as unknown;
}

/**
 * Replaces `${NAME}` with the environment variable NAME in every string, and
 * reads `file:PATH` for secret keys. `$${` stays a literal `${`.
 */
function expandValues(
  value: unknown,
  path: Path,
  env: NodeJS.ProcessEnv,
  issues: string[],
): unknown {
  if (Array.isArray(value)) return value.map((v, i) => expandValues(v, [...path, i], env, issues));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandValues(v, [...path, k], env, issues);
    return out;
  }
  if (typeof value !== 'string') return value;

  const withEnv = value.replace(/\$(\$?)\{([^}]*)\}/g, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      issues.push(`${formatPath(path)}: \${${name}} is not a valid environment variable name`);
      return '';
    }
    const found = env[name];
    if (found === undefined) {
      issues.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return '';
    }
    return found;
  });
  const key = path[path.length - 1];
  if (typeof key === 'string' && SECRET_KEYS.has(key) && withEnv.startsWith('file:')) {
    return readSecretFile(withEnv.slice('file:'.length), path, issues);
  }
  return withEnv;
}

/** Reads a secret mounted as a file, dropping one trailing newline. */
export function readSecretFile(file: string, path: Path, issues: string[]): string {
  try {
    return readFileSync(expandHome(file), 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    issues.push(`${formatPath(path)}: cannot read secret file ${file}: ${code}`);
    return '';
  }
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  }
  const key = path[path.length - 1];
  const isSecret = typeof key === 'string' && SECRET_KEYS.has(key);
  const value = valueAt(root, path);
  const shown = isSecret || value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  return `${formatPath(path)}: ${message}${issue.code === 'unrecognized_keys' ? '' : shown}`;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function formatPath(path: Path): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function buildResolveMap(config: Config): Map<string, HostPort> {
  const map = new Map<string, HostPort>();
  for (const [from, to] of Object.entries(config.resolve)) {
    const key = parseHostPort(from) as HostPort;
    map.set(`${key.host}:${key.port}`, parseHostPort(to) as HostPort);
  }
  return map;
}

function crossFieldIssues(config: Config): string[] {
  const issues: string[] = [];
  if (parseHostPort(config.listen)?.port !== 0 && config.listen === config.admin) {
    issues.push(`admin: must differ from listen (both are ${JSON.stringify(config.listen)})`);
  }

  const seenRoutes = new Map<string, number>();
  config.routes.forEach((route, i) => {
    const key = `${route.app}\u0000${route.host}`;
    const first = seenRoutes.get(key);
    if (first !== undefined) {
      issues.push(
        `routes[${i}]: app ${JSON.stringify(route.app)} already routes host ${JSON.stringify(route.host)} (routes[${first}]); one host maps to one grant per app`,
      );
    } else {
      seenRoutes.set(key, i);
    }
  });

  for (const [id, provider] of Object.entries(config.providers)) {
    const at = `providers.${id}`;
    if (provider.auth === undefined) {
      if (!ProviderRegistry.isBuiltin(id)) {
        issues.push(
          `${at}: unknown provider ${JSON.stringify(id)}; a custom provider needs auth and hosts (see grantd provider list for the built-in ones)`,
        );
      } else if (
        provider.hosts ||
        provider.inject ||
        provider.authorize_url ||
        provider.token_url
      ) {
        issues.push(
          `${at}: a built-in provider takes client_id, client_secret and scopes here; to change its hosts or endpoints, define a custom provider under another name`,
        );
      }
      continue;
    }
    if (ProviderRegistry.isBuiltin(id)) {
      issues.push(
        `${at}.auth: ${JSON.stringify(id)} is a built-in provider; drop auth to configure it, or pick another name for a custom one`,
      );
    }
    if (provider.hosts === undefined)
      issues.push(`${at}.hosts: a custom provider must list its API hosts`);
    if (provider.auth === 'oauth2') {
      if (!provider.authorize_url) issues.push(`${at}.authorize_url: required when auth is oauth2`);
      if (!provider.token_url) issues.push(`${at}.token_url: required when auth is oauth2`);
    }
    if (provider.auth === 'oauth2_client_credentials' && !provider.token_url) {
      issues.push(`${at}.token_url: required when auth is oauth2_client_credentials`);
    }
  }
  return issues;
}
