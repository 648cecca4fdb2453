/**
 * Optional limits on what a grant may be used for: HTTP methods, and path
 * patterns. A pattern without `*` matches that path and everything below it
 * (`/repos` covers `/repos` and `/repos/a/b`, not `/reposx`); with `*` it is a
 * glob where `*` stays within one segment and `**` spans segments.
 */
export interface Policy {
  methods?: string[] | undefined;
  paths?: string[] | undefined;
}

export type PolicyVerdict = { allowed: true } | { allowed: false; reason: string };

/** Checks a request against a policy; every rule present must allow it. */
export function checkPolicy(policy: Policy, method: string, rawPath: string): PolicyVerdict {
  if (policy.methods?.length && !policy.methods.includes(method.toUpperCase())) {
    return { allowed: false, reason: `method ${method} is not allowed for this grant` };
  }
  if (!policy.paths?.length) return { allowed: true };
  const path = normalizePath(rawPath);
  if (path === undefined) {
    return { allowed: false, reason: 'the path is ambiguous (an encoded slash or bad escape)' };
  }
  if (policy.paths.some((pattern) => matchPath(pattern, path))) return { allowed: true };
  return { allowed: false, reason: 'the path is not allowed for this grant' };
}

/**
 * The path as the upstream will understand it: the query dropped, each
 * segment percent-decoded, `.` and `..` resolved. Undefined for a path whose
 * meaning servers disagree on (an encoded `/` or `\`, a malformed escape), so
 * such paths never pass a path rule.
 */
export function normalizePath(rawPath: string): string | undefined {
  const q = rawPath.search(/[?#]/);
  const path = q === -1 ? rawPath : rawPath.slice(0, q);
  if (!path.startsWith('/')) return undefined;
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  for (const [i, raw] of segments.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment.includes('/') || segment.includes('\\') || segment.includes('\0')) return undefined;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
      continue;
    }
    if (segment === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** Whether a normalized path matches one pattern (see Policy). */
export function matchPath(pattern: string, path: string): boolean {
  if (!pattern.includes('*')) {
    const base = pattern.replace(/\/+$/, '');
    return path === base || path === pattern || path.startsWith(`${base}/`) || base === '';
  }
  return globToRegExp(pattern).test(path);
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        i += 1;
      } else {
        source += '[^/]*';
      }
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/** Reads `--methods GET,POST` style lists: upper-cased tokens, validated. */
export function parseMethods(values: readonly string[]): string[] | string {
  const methods = values.flatMap((v) => v.split(',')).map((m) => m.trim().toUpperCase());
  const bad = methods.find((m) => !/^[A-Z]+$/.test(m));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not an HTTP method`;
  return [...new Set(methods)];
}

/** Path patterns start with `/`; anything else is a mistake worth naming. */
export function parsePaths(values: readonly string[]): string[] | string {
  const paths = values.flatMap((v) => v.split(',')).map((p) => p.trim());
  const bad = paths.find((p) => !p.startsWith('/') || /[?#\s]/.test(p));
  if (bad !== undefined)
    return `${JSON.stringify(bad)} is not a path pattern (it must start with /)`;
  return [...new Set(paths)];
}
