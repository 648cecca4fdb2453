import type { Rng } from './support.js';

// Case generation for fuzz.test.ts: one seeded sequence, consumed in order.
// Every case is built so that grantd can only ever connect to 127.0.0.1 (or
// ::1): request targets and CONNECT authorities come from a fixed list of
// names mapped by `resolve:` or loopback literals, and byte mutations touch
// the request line only with bytes (CR, LF, NUL, SP, TAB, DEL) that make it
// unparsable rather than name another host.

/** How a case reaches grantd: on the outer listener, or inside a tunnel opened with a valid key. */
export type Kind =
  'absolute' | 'tunnel' | 'connect' | 'tunnel-random' | 'tunnel-cleartext' | 'random';

/** One fuzz input: the bytes to send and how to send them. */
export interface FuzzCase {
  n: number;
  kind: Kind;
  bytes: Buffer;
  /** Offsets at which the bytes are split into separate writes. */
  splits: number[];
}

export const latin1 = (text: string) => Buffer.from(text, 'latin1');
export const basic = (user: string, secret: string) =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

const METHODS = [
  ...['GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'],
  ...['HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'M-SEARCH', 'QUERY'],
];
const ODD_METHODS = ['CONNECT', 'get', 'BREW', 'G', 'GETX', 'X'.repeat(40)];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'];
const ODD_VERSIONS = ['HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/11', 'HTTP/1.1 ', ''];
const SEPARATORS = [...Array<string>(12).fill(' '), '  ', '\t'];
const LINE_ENDS = [...Array<string>(12).fill('\r\n'), '\n', '\r'];
const CLEAN_PATHS = ['/', '/v1/models', '/v1/chat/completions?stream=true', '/a?token=leak&b=1'];
const PATHS = [
  ...['/', '/v1/models', '/v1/chat/completions?stream=true', '/../../etc/passwd', '/%2e%2e/%2f'],
  ...['//double//slash', '/a?token=leak&b=1', '/\\back', '/#frag', '/;param', '/%00', '/%zz'],
  `/${'a'.repeat(4_000)}`,
];
/** Bytes that may replace or join request-line bytes: they break a line, never rename a host. */
const LINE_BYTES = ['\r', '\n', '\0', ' ', '\t', '\x7f'];
const INSERTS = [
  ...['\r\n', '\r', '\n', '\0', '\r\n\r\n', ':', ' ', '\t', '\x7f', '\xff', '\r\n ', ',', ';'],
  ...['\\', '"', '0\r\n\r\n', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 0\r\n'],
  ...['Content-Length: 99999\r\n', 'Grantd-Grant: ai\r\n', 'Connection: close\r\n'],
  ...['Host: api.openai.com\r\n', 'Proxy-Authorization: Basic Og==\r\n'],
];
const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";

interface Authority {
  url: string;
  host: string;
}

/** How many of the first absoluteAuthorities() are well-formed and reach a fake upstream. */
const REACHABLE_AUTHORITIES = 13;

const URL_CHARS =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%?";

function randomPath(r: Rng, clean: boolean): string {
  if (r.chance(0.6)) return r.pick(clean ? CLEAN_PATHS : PATHS);
  let path = '/';
  const length = r.int(60);
  for (let i = 0; i < length; i++) {
    path += clean ? URL_CHARS[r.int(URL_CHARS.length)] : String.fromCharCode(0x21 + r.int(0x5e));
  }
  return path;
}

function junkHeader(r: Rng): [string, string] {
  let name = '';
  const nameLength = 1 + r.int(20);
  for (let i = 0; i < nameLength; i++) name += TOKEN_CHARS[r.int(TOKEN_CHARS.length)];
  let value = '';
  const valueLength = r.int(80);
  for (let i = 0; i < valueLength; i++) {
    value += String.fromCharCode(r.chance(0.9) ? 0x20 + r.int(0x5f) : 0x80 + r.int(0x80));
  }
  return [name, value];
}

function grantHeader(r: Rng): string | undefined {
  return r.pick([
    'ai',
    'ai',
    'ai',
    'theirs',
    `gr_${'x'.repeat(10 + r.int(20))}`,
    'a b/c',
    '',
    ' ai ',
    'ai, ai',
    'x'.repeat(300),
    undefined,
    undefined,
  ]);
}

function chunked(r: Rng, body: Buffer, clean: boolean): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const size = Math.min(body.length - at, 1 + r.int(700));
    const ext = !clean && r.chance(0.1) ? ';ext=1' : '';
    parts.push(
      latin1(`${size.toString(16)}${ext}\r\n`),
      body.subarray(at, at + size),
      latin1('\r\n'),
    );
    at += size;
  }
  if (clean) return Buffer.concat([...parts, latin1('0\r\n\r\n')]);
  if (r.chance(0.1)) parts.push(latin1('zz\r\n'));
  if (r.chance(0.9)) parts.push(latin1(r.chance(0.1) ? '0\r\nX-Trailer: 1\r\n\r\n' : '0\r\n\r\n'));
  return Buffer.concat(parts);
}

/**
 * One request: the request line, then headers and body. A clean one is
 * well-formed and mostly served (injected, passed through or refused by
 * policy); a hostile one draws from every odd choice below.
 */
/** Byte-level damage to headers and body, never to the request line. */
function mutateRest(r: Rng, rest: Buffer): Buffer {
  let bytes = rest;
  const count = r.chance(0.5) ? 0 : r.pick([1, 1, 1, 2, 2, 3, 5, 8]);
  for (let i = 0; i < count; i++) {
    const at = bytes.length === 0 ? 0 : r.int(bytes.length);
    const op = r.int(5);
    if (op === 0 && bytes.length > 0) {
      bytes = Buffer.from(bytes);
      bytes[at] = r.int(256);
    } else if (op === 1) {
      bytes = Buffer.concat([bytes.subarray(0, at), latin1(r.pick(INSERTS)), bytes.subarray(at)]);
    } else if (op === 2) {
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + r.int(16))]);
    } else if (op === 3) {
      const piece = bytes.subarray(at, at + 1 + r.int(64));
      bytes = Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
    } else {
      bytes = bytes.subarray(0, at);
    }
  }
  return bytes;
}

/** Rarely, one request-line byte replaced by or joined with a line-breaking byte. */
function mutateLine(r: Rng, line: Buffer): Buffer {
  if (!r.chance(0.1)) return line;
  const at = r.int(line.length);
  const inserted = latin1(r.pick(LINE_BYTES));
  const skip = r.chance(0.5) ? 1 : 0;
  return Buffer.concat([line.subarray(0, at), inserted, line.subarray(at + skip)]);
}

function randomBytes(r: Rng): Buffer {
  const noise = r.bytes(1 + r.int(4_096));
  // Sometimes a plausible start, so the parser gets past the first byte.
  return r.chance(0.3) ? Buffer.concat([latin1(r.pick(['GET /', 'POST /'])), noise]) : noise;
}

/** Where cases may point, and the keys they may present. */
export interface FuzzTargets {
  key: string;
  otherKey: string;
  /** A plain-HTTP fake upstream on 127.0.0.1, for untagged and blind traffic. */
  plainPort: number;
  /** A port on 127.0.0.1 where nothing listens. */
  closedPort: number;
}

/** Builds random and mutated requests, CONNECT lines and byte strings. */
export class CaseGenerator {
  readonly #t: FuzzTargets;

  constructor(targets: FuzzTargets) {
    this.#t = targets;
  }

  #absoluteAuthorities(): Authority[] {
    const loop = (port: number) => `127.0.0.1:${port}`;
    return [
      ...[1, 2, 3].map(() => ({ url: 'https://api.openai.com', host: 'api.openai.com' })),
      { url: 'http://api.openai.com', host: 'api.openai.com' },
      { url: 'https://API.OPENAI.COM.', host: 'API.OPENAI.COM.' },
      { url: 'http://api.openai.com:80', host: 'api.openai.com:80' },
      { url: 'https://api.openai.com:443', host: 'api.openai.com:443' },
      { url: 'http://api.openai.com:', host: 'api.openai.com' },
      { url: 'http://%61pi.openai.com', host: 'api.openai.com' },
      { url: 'ws://api.openai.com', host: 'api.openai.com' },
      { url: 'http://plain.fuzz.test', host: 'plain.fuzz.test' },
      { url: `http://${loop(this.#t.plainPort)}`, host: loop(this.#t.plainPort) },
      { url: `http://localhost:${this.#t.plainPort}`, host: `localhost:${this.#t.plainPort}` },
      { url: `http://0x7f.1:${this.#t.plainPort}`, host: `0x7f.1:${this.#t.plainPort}` },
      { url: `http://${loop(this.#t.closedPort)}`, host: loop(this.#t.closedPort) },
      { url: `https://${loop(this.#t.closedPort)}`, host: loop(this.#t.closedPort) },
      { url: `http://[::1]:${this.#t.closedPort}`, host: `[::1]:${this.#t.closedPort}` },
      { url: 'http://user:pw@api.openai.com', host: 'api.openai.com' },
      { url: 'http://[not-a-host', host: 'x' },
      { url: 'http://api.openai.com:99999', host: 'api.openai.com' },
      { url: 'ftp://api.openai.com', host: 'api.openai.com' },
      { url: 'http://', host: '' },
      // Origin-form on the outer listener: grantd answers with a hint.
      { url: '', host: 'api.openai.com' },
    ];
  }

  #connectTargets(): string[] {
    return [
      ...['api.openai.com:443', 'api.openai.com:443', 'api.openai.com:443', 'API.OPENAI.COM.:443'],
      ...['api.openai.com', 'api.openai.com:', 'api.openai.com:0', 'api.openai.com:65536'],
      ...['api.openai.com:-1', ':443', '', '[::1]', '[zz]:443', 'api..openai.com:443'],
      ...['user@api.openai.com:443', 'api.openai.com:443/path', 'http://api.openai.com:443'],
      `127.0.0.1:${this.#t.plainPort}`,
      `localhost:${this.#t.plainPort}`,
      `127.0.0.1:${this.#t.closedPort}`,
      `[::1]:${this.#t.closedPort}`,
    ];
  }

  #authHeader(r: Rng): string | undefined {
    return r.pick([
      basic('_', this.#t.key),
      basic('_', this.#t.key),
      basic('ai', this.#t.key),
      basic('theirs', this.#t.key),
      basic('_', this.#t.otherKey),
      basic('_', `gk_${'A'.repeat(32)}`),
      basic('', ''),
      'Basic !!!notbase64',
      'Bearer something',
      `Basic ${'A'.repeat(2_000)}`,
      undefined,
    ]);
  }

  #generateRequest(
    r: Rng,
    form: 'absolute' | 'origin',
    clean: boolean,
  ): { line: Buffer; rest: Buffer } {
    const method = clean || r.chance(0.9) ? r.pick(METHODS) : r.pick(ODD_METHODS);
    const path = randomPath(r, clean);
    let target: string;
    let host: string;
    if (form === 'absolute') {
      const authorities = this.#absoluteAuthorities();
      const authority = r.pick(clean ? authorities.slice(0, REACHABLE_AUTHORITIES) : authorities);
      target = authority.url === '' ? path : `${authority.url}${path.startsWith('/') ? path : ''}`;
      host = authority.host;
    } else {
      target = !clean && r.chance(0.05) ? r.pick(['*', 'http://api.openai.com/', '']) : path;
      host = r.pick(['api.openai.com', 'api.openai.com', 'api.openai.com:443', 'API.OPENAI.COM.']);
    }
    const version = clean || r.chance(0.95) ? r.pick(VERSIONS) : r.pick(ODD_VERSIONS);
    const line = clean
      ? `${method} ${target} ${version}\r\n`
      : `${method}${r.pick(SEPARATORS)}${target}${r.pick(SEPARATORS)}${version}${r.pick(LINE_ENDS)}`;
    return clean ? this.#cleanRest(r, form, host, line) : this.#hostileRest(r, form, host, line);
  }

  #cleanRest(
    r: Rng,
    form: 'absolute' | 'origin',
    host: string,
    line: string,
  ): { line: Buffer; rest: Buffer } {
    const headers: [string, string][] = [['Host', host]];
    if (form === 'absolute')
      headers.push(['Proxy-Authorization', basic(r.pick(['_', 'ai']), this.#t.key)]);
    const grant = r.pick(['ai', 'ai', 'ai', 'theirs', undefined]);
    if (grant !== undefined) headers.push(['Grantd-Grant', grant]);
    if (r.chance(0.5)) headers.push(['Connection', 'close']);
    if (r.chance(0.3)) headers.push(['Authorization', 'Bearer app-made-this-up']);
    let body = r.chance(0.6) ? Buffer.alloc(0) : r.bytes(r.pick([1, 16, 256, 2_048, 10_000]));
    if (r.chance(0.7)) {
      headers.push(['Content-Length', String(body.length)]);
    } else {
      headers.push(['Transfer-Encoding', 'chunked']);
      body = chunked(r, body, true);
    }
    const head = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') + '\r\n';
    return { line: latin1(line), rest: Buffer.concat([latin1(head), body]) };
  }

  #hostileRest(
    r: Rng,
    form: 'absolute' | 'origin',
    host: string,
    line: string,
  ): { line: Buffer; rest: Buffer } {
    const headers: [string, string][] = [];
    const hostChoice = r.int(20);
    if (hostChoice < 17) headers.push(['Host', host]);
    else if (hostChoice === 17) headers.push(['Host', 'evil.example']);
    else if (hostChoice === 18) headers.push(['Host', '']);
    const auth = this.#authHeader(r);
    if (auth !== undefined && (form === 'absolute' || r.chance(0.2))) {
      headers.push(['Proxy-Authorization', auth]);
    }
    const grant = grantHeader(r);
    if (grant !== undefined) headers.push(['Grantd-Grant', grant]);
    if (r.chance(0.6))
      headers.push(['Connection', r.pick(['close', 'close', 'keep-alive', 'x-secret, close'])]);
    if (r.chance(0.2)) headers.push(['Authorization', 'Bearer app-made-this-up']);
    if (r.chance(0.05)) {
      headers.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade']);
      headers.push(
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ['Sec-WebSocket-Version', '13'],
      );
    }
    if (r.chance(0.1)) {
      headers.push(
        r.pick<[string, string]>([
          ['Expect', '100-continue'],
          ['Proxy-Connection', 'keep-alive'],
          ['TE', 'trailers'],
          ['Trailer', 'X-Trailer'],
          ['Grantd-Request-Id', 'req_forged'],
          ['X-Forwarded-For', '169.254.169.254'],
        ]),
      );
    }
    const junk = r.chance(0.03) ? 400 : r.int(4);
    for (let i = 0; i < junk; i++) headers.push(junkHeader(r));

    let body = r.chance(0.5) ? Buffer.alloc(0) : r.bytes(r.pick([1, 16, 256, 2_048, 10_000]));
    const framing = r.int(16);
    if (framing < 10) {
      if (body.length > 0 || r.chance(0.3)) headers.push(['Content-Length', String(body.length)]);
    } else if (framing < 13) {
      headers.push([
        'Transfer-Encoding',
        r.pick(['chunked', 'chunked', 'gzip, chunked', 'chunked, identity']),
      ]);
      body = chunked(r, body, false);
    } else {
      const lengths = ['0', String(body.length + 10), String(Math.max(0, body.length - 1)), '-1'];
      headers.push([
        'Content-Length',
        r.pick([...lengths, 'abc', ' 5', '5, 5', '0x10', '9'.repeat(25)]),
      ]);
      if (r.chance(0.3)) headers.push(['Content-Length', String(body.length)]);
    }

    const end = r.chance(0.95) ? '\r\n' : '\n';
    const head = headers.map(([name, value]) => `${name}: ${value}${end}`).join('') + end;
    return { line: latin1(line), rest: Buffer.concat([latin1(head), body]) };
  }

  #mutatedRequests(r: Rng, form: 'absolute' | 'origin'): Buffer {
    const count = r.chance(0.15) ? 2 + r.int(2) : 1;
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const clean = r.chance(0.35);
      const { line, rest } = this.#generateRequest(r, form, clean);
      parts.push(clean ? line : mutateLine(r, line), clean ? rest : mutateRest(r, rest));
    }
    return Buffer.concat(parts);
  }

  #mutatedConnect(r: Rng): Buffer {
    const target = r.pick(this.#connectTargets());
    const method = r.pick([
      'CONNECT',
      'CONNECT',
      'CONNECT',
      'CONNECT',
      'connect',
      'CONNEC',
      'CONNECTT',
      'GET',
    ]);
    const version = r.chance(0.85) ? 'HTTP/1.1' : r.pick(['HTTP/1.0', 'HTTP/1.2', 'HTTP/2', '']);
    const line = latin1(
      `${method}${r.pick(SEPARATORS)}${target}${r.pick(SEPARATORS)}${version}\r\n`,
    );
    const headers: string[] = [];
    if (r.chance(0.8)) headers.push(`Host: ${r.chance(0.9) ? target : 'evil.example:443'}`);
    const auth = this.#authHeader(r);
    if (auth !== undefined) headers.push(`Proxy-Authorization: ${auth}`);
    for (let i = r.int(3); i > 0; i--) headers.push(junkHeader(r).join(': '));
    const rest = latin1(headers.map((h) => `${h}\r\n`).join('') + '\r\n');
    const after = r.pick([
      Buffer.alloc(0),
      Buffer.alloc(0),
      r.bytes(1 + r.int(2_048)),
      this.#mutatedRequests(r, 'origin'),
    ]);
    return Buffer.concat([mutateLine(r, line), mutateRest(r, rest), after]);
  }

  /** The next case of the sequence: the same for the same seed. */
  next(r: Rng, n: number): FuzzCase {
    const roll = r.int(100);
    let kind: Kind;
    let bytes: Buffer;
    if (roll < 30) [kind, bytes] = ['absolute', this.#mutatedRequests(r, 'absolute')];
    else if (roll < 60) [kind, bytes] = ['tunnel', this.#mutatedRequests(r, 'origin')];
    else if (roll < 75) [kind, bytes] = ['connect', this.#mutatedConnect(r)];
    else if (roll < 85) [kind, bytes] = ['tunnel-random', r.bytes(1 + r.int(8_192))];
    else if (roll < 90) {
      kind = 'tunnel-cleartext';
      bytes = r.chance(0.5) ? r.bytes(1 + r.int(1_024)) : this.#mutatedRequests(r, 'origin');
    } else [kind, bytes] = ['random', randomBytes(r)];
    const splits = Array.from({ length: r.int(3) }, () => r.int(bytes.length + 1)).sort(
      (a, b) => a - b,
    );
    return { n, kind, bytes, splits };
  }
}
