import { canonicalHost } from '../util/hosts.js';

/**
 * A provider host as the catalog writes it: an exact name, `*.example.com`
 * for any name below example.com, or `{param}.example.com` filled from a
 * grant's params.
 */
export interface HostPattern {
  /** The exact host, or the suffix (with its leading dot) for a wildcard. */
  text: string;
  wildcard: boolean;
}

/**
 * Fills `{name}` placeholders from `params`. Returns undefined when a value is
 * missing: a template with a hole names no host at all.
 */
export function fillTemplate(
  template: string,
  params: Readonly<Record<string, string>>,
): string | undefined {
  let missing = false;
  const filled = template.replace(/\{([a-z][a-z0-9_]*)\}/g, (_whole, name: string) => {
    const value = params[name];
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? undefined : filled;
}

/**
 * The patterns a grant's provider covers. Templated hosts are filled from the
 * grant's params; with `params` undefined (deciding which tunnels to
 * intercept, before any grant is known) they widen to a wildcard.
 */
export function hostPatterns(
  hosts: readonly string[],
  params: Readonly<Record<string, string>> | undefined,
): HostPattern[] {
  const out: HostPattern[] = [];
  for (const host of hosts) {
    if (host.startsWith('*.')) {
      out.push({ text: host.slice(1), wildcard: true });
      continue;
    }
    if (!host.includes('{')) {
      out.push({ text: host, wildcard: false });
      continue;
    }
    if (params === undefined) {
      const suffix = host.slice(host.indexOf('}') + 1);
      if (host.startsWith('{') && suffix.startsWith('.') && !suffix.includes('{')) {
        out.push({ text: suffix, wildcard: true });
      }
      continue;
    }
    const filled = fillTemplate(host, params);
    const canonical = filled && canonicalHost(filled);
    if (canonical) out.push({ text: canonical, wildcard: false });
  }
  return out;
}

/** Whether a canonical host matches any of the patterns. */
export function matchesHost(host: string, patterns: readonly HostPattern[]): boolean {
  for (const pattern of patterns) {
    if (pattern.wildcard ? host.endsWith(pattern.text) : host === pattern.text) return true;
  }
  return false;
}
