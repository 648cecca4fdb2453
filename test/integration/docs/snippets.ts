import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from '../../helpers/daemon.js';

/** A fenced code block that a `<!-- test: NAME -->` comment marks as runnable. */
export interface Snippet {
  /** The marker's name, unique across the pages. */
  name: string;
  /** The page, relative to the repo root. */
  page: string;
  /** The fence's info string: sh, python, js, java, go… */
  language: string;
  code: string;
  /** With `file=F`: written to F for a later snippet, not run. */
  file: string | undefined;
  line: number;
}

const MARKER = /^<!--\s*test:\s*([a-z0-9-]+)(?:\s+file=(\S+))?\s*-->\s*$/;

/**
 * Every marked block of one Markdown page, in page order. A marker must be
 * followed (blank lines aside) by a fenced block; anything else throws, so a
 * marker cannot silently lose its snippet.
 */
export function extractSnippets(page: string): Snippet[] {
  const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i] as string);
    if (!marker) continue;
    let j = i + 1;
    while (j < lines.length && (lines[j] as string).trim() === '') j++;
    const fence = /^(`{3,})(\S*)\s*$/.exec(lines[j] ?? '');
    if (!fence) throw new Error(`${page}:${i + 1}: test marker not followed by a code block`);
    const close = lines.findIndex((line, k) => k > j && line.startsWith(fence[1] as string));
    if (close < 0) throw new Error(`${page}:${j + 1}: unclosed code block`);
    snippets.push({
      name: marker[1] as string,
      file: marker[2],
      page,
      language: fence[2] as string,
      code: lines.slice(j + 1, close).join('\n') + '\n',
      line: i + 1,
    });
    i = close;
  }
  return snippets;
}

/** The client pages, docs/clients/*.md, by name. */
export function clientPages(): string[] {
  return readdirSync(join(ROOT, 'docs', 'clients'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/clients/${name}`);
}

/**
 * The one change the tests make to a snippet: grantd's default proxy port
 * becomes the test daemon's, in `127.0.0.1:8790` and `"127.0.0.1", 8790` alike.
 */
export function withProxyPort(code: string, port: number): string {
  return code.replace(/(127\.0\.0\.1["']?(?::|,\s*))8790\b/g, `$1${port}`);
}
