import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, relative } from 'node:path';

import { ROOT } from '../../helpers/daemon.js';

/** One instruction of a Dockerfile, with continuation lines joined. */
export interface Instruction {
  keyword: string;
  /** The text after the keyword, flags included. */
  rest: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  from: string;
  instructions: Instruction[];
}

/** Splits the Dockerfile into stages; comments and blank lines dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i] as string;
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      logical = logical.replace(/\\\s*$/, ' ') + (lines[++i] as string).trim();
    }
    const trimmed = logical.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = /^(\S+)\s+(.*)$/.exec(trimmed);
    if (!match) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${trimmed}`);
    const keyword = (match[1] as string).toUpperCase();
    const rest = match[2] as string;
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      stages.push({ from: from?.[1] as string, name: from?.[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, rest, line: start + 1 });
  }
  return stages;
}

export function readDockerfile(): Stage[] {
  return parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
}

/** `.dockerignore` patterns; only the plain root-relative form this repo uses. */
export function readDockerignore(): string[] {
  const path = join(ROOT, '.dockerignore');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      if (/[*?[!]/.test(line)) throw new Error(`.dockerignore: teach this test about ${line}`);
      return line.replace(/^\/+|\/+$/g, '');
    });
}

/** `ENV A=1 B="two"` as pairs. */
export function parseEnv(rest: string): [string, string][] {
  return [...rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)].map((m) => [
    m[1] as string,
    (m[2] as string).replace(/^"|"$/g, ''),
  ]);
}

/** A JSON-array instruction (exec form), as CMD, ENTRYPOINT and VOLUME use. */
export function parseExecForm(rest: string): string[] {
  const parsed = JSON.parse(rest) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`expected the exec form, got ${rest}`);
  return parsed.map(String);
}

/**
 * The state of a stage being built in a folder standing in for its root file
 * system: paths inside the image are joined onto `root`.
 */
export class StageFs {
  readonly root: string;
  workdir = '/';
  readonly env: Record<string, string> = {};

  constructor(root: string) {
    this.root = root;
    mkdirSync(root, { recursive: true });
  }

  /** An image path, relative ones against WORKDIR, as a path on this machine. */
  hostPath(imagePath: string): string {
    const absolute = posix.isAbsolute(imagePath) ? imagePath : posix.join(this.workdir, imagePath);
    return join(this.root, absolute);
  }

  setWorkdir(path: string): void {
    this.workdir = posix.isAbsolute(path) ? path : posix.join(this.workdir, path);
    mkdirSync(this.hostPath('.'), { recursive: true });
  }
}

/**
 * COPY's rules for the forms this Dockerfile uses: a directory source copies
 * its contents into the destination; several sources, or a destination
 * ending in `/`, mean the destination is a directory.
 */
export function copyInto(
  sources: { path: string; isIgnored?: (path: string) => boolean }[],
  destination: string,
  destinationIsDir: boolean,
): void {
  for (const { path, isIgnored } of sources) {
    if (!existsSync(path)) throw new Error(`COPY: ${path} does not exist`);
    const target =
      destinationIsDir && !statSync(path).isDirectory()
        ? join(destination, basenameOf(path))
        : destination;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(path, target, {
      recursive: true,
      // node_modules/.bin links stay relative, as in an image layer.
      verbatimSymlinks: true,
      filter: (from) => !isIgnored?.(from),
    });
  }
}

function basenameOf(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).at(-1) as string;
}

/** Whether a path in the build context (the repo) is left out by `.dockerignore`. */
export function ignoredBy(patterns: string[]): (path: string) => boolean {
  return (path) => {
    const rel = relative(ROOT, path).split(/[\\/]/).join('/');
    if (isAbsolute(rel) || rel.startsWith('..')) return false;
    return patterns.some((p) => rel === p || rel.startsWith(`${p}/`));
  };
}
