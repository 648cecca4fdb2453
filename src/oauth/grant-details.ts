import { isIP } from 'node:net';

import { applyInjection } from '../grants/inject.js';
import { fillTemplate } from '../providers/host-pattern.js';
import type { ProviderSpec } from '../providers/schema.js';
import type { Upstream } from '../proxy/upstream.js';
import { canonicalHost } from '../util/hosts.js';
import { readText } from './dotted-path.js';
import { sendOwnRequest } from './http.js';
import type { TokenSet } from './token-response.js';

/** What connect learns besides the tokens, kept on the grant row (never a secret). */
export interface GrantDetails {
  /** Values from the token response and the redirect, merged into the grant's params. */
  kept: Record<string, string>;
  /** Hosts this grant may reach beyond its provider's (a Salesforce instance). */
  extraHosts: string[];
}

/** Short printable values only: kept values are shown by `grant show` and fill URL templates. */
const KEPT_VALUE = /^[\x21-\x7e]{1,512}$/;

/**
 * Picks `keep_fields` from the token response, `keep_callback_params` from
 * the redirect, and turns `host_from_field` into an extra host. A name that
 * is one of the provider's declared params is never overwritten: those are
 * the user's, checked against their patterns.
 */
export function grantDetails(
  spec: ProviderSpec,
  tokens: TokenSet,
  callback: URLSearchParams,
): GrantDetails {
  const oauth = spec.oauth;
  const kept: Record<string, string> = {};
  if (!oauth) return { kept, extraHosts: [] };
  const declared = new Set(spec.params.map((param) => param.name));
  const keep = (name: string, value: string | undefined | null) => {
    if (value != null && !declared.has(name) && KEPT_VALUE.test(value)) kept[name] = value;
  };
  for (const field of oauth.keep_fields) keep(field, readText(tokens.response, field));
  for (const name of oauth.keep_callback_params) keep(name, callback.get(name));

  const extraHosts: string[] = [];
  if (oauth.host_from_field !== undefined) {
    const host = httpsHost(readText(tokens.response, oauth.host_from_field));
    if (host !== undefined) extraHosts.push(host);
  }
  return { kept, extraHosts };
}

/**
 * The provider-side identity the new token acts as: a field of the token
 * response, or a call to the userinfo URL with the token injected the way
 * the provider's `inject` says. Throws an Error with a safe message (status
 * or reason, never a body) when the call fails.
 */
export async function readPrincipal(
  spec: ProviderSpec,
  tokens: TokenSet,
  values: Readonly<Record<string, string>>,
  upstream: Upstream,
  timeoutMs: number,
): Promise<string | undefined> {
  const principal = spec.oauth?.principal;
  if (principal === undefined) return undefined;
  if (principal.from === 'token_response') {
    return printable(readText(tokens.response, principal.path));
  }

  const filled = fillTemplate(principal.url, values);
  if (filled === undefined) throw new Error('the userinfo URL needs a param the grant lacks');
  const target = new URL(filled);
  if (target.protocol !== 'https:' && !spec.allow_cleartext) {
    throw new Error('the userinfo URL is plain http');
  }
  const raw = ['accept', 'application/json', ...Object.entries(principal.headers ?? {}).flat()];
  if (principal.body !== undefined && !hasHeader(raw, 'content-type')) {
    raw.push('content-type', 'application/json');
  }
  const injected = applyInjection(
    raw,
    `${target.pathname}${target.search}`,
    spec.inject,
    tokens.accessToken,
  );
  const url = new URL(injected.path, target);
  const answer = await sendOwnRequest(upstream, {
    method: principal.method,
    url,
    headers: pairs(injected.headers),
    body: principal.body,
    timeoutMs,
  });
  if (answer.status < 200 || answer.status >= 300) {
    throw new Error(`the userinfo URL answered HTTP ${answer.status}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw new Error('the userinfo URL answered something other than JSON');
  }
  return printable(readText(doc, principal.path));
}

/**
 * The principal is shown in terminals and tables: control characters (an
 * escape sequence from a hostile answer) become spaces, and it is capped.
 */
function printable(value: string | undefined): string | undefined {
  const text = value
    ?.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ')
    .trim()
    .slice(0, 256);
  return text === '' ? undefined : text;
}

/** The host of an https URL, when it is a DNS name (an IP would dodge host rules). */
function httpsHost(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:') return undefined;
  const host = canonicalHost(url.hostname);
  return host === undefined || isIP(host) !== 0 ? undefined : host;
}

function hasHeader(raw: readonly string[], name: string): boolean {
  return raw.some((value, i) => i % 2 === 0 && value.toLowerCase() === name);
}

function pairs(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i] as string] = raw[i + 1] as string;
  return out;
}
