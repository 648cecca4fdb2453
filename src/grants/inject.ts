import type { InjectSpec } from '../providers/schema.js';

/** The headers and path a request leaves grantd with, credential in place. */
export interface Injected {
  headers: string[];
  path: string;
}

/**
 * Puts a credential where the provider expects it, replacing whatever the app
 * sent there. `Authorization` always goes: credentials belong to grantd, and
 * a stray client value must never travel beside the injected one.
 */
export function applyInjection(
  rawHeaders: readonly string[],
  path: string,
  spec: InjectSpec,
  credential: string,
): Injected {
  if ('query' in spec) {
    return {
      headers: without(rawHeaders, 'authorization'),
      path: withQuery(path, spec.query, credential),
    };
  }
  if ('header' in spec) {
    const headers = without(rawHeaders, 'authorization', spec.header.toLowerCase());
    headers.push(spec.header, spec.format.replace('{token}', credential));
    return { headers, path };
  }
  const headers = without(rawHeaders, 'authorization');
  headers.push(
    'Authorization',
    `Basic ${Buffer.from(basicPair(spec.basic, credential)).toString('base64')}`,
  );
  return { headers, path };
}

function basicPair(place: 'username' | 'password' | 'pair', credential: string): string {
  if (place === 'pair') return credential;
  return place === 'username' ? `${credential}:` : `:${credential}`;
}

function without(raw: readonly string[], ...names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (names.includes((raw[i] as string).toLowerCase())) continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

/** Replaces every occurrence of `name` in the query with the credential. */
function withQuery(path: string, name: string, credential: string): string {
  const q = path.indexOf('?');
  const base = q === -1 ? path : path.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : path.slice(q + 1));
  params.delete(name);
  params.append(name, credential);
  return `${base}?${params.toString()}`;
}
