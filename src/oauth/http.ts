import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

import { classifyUpstreamError, type Upstream } from '../proxy/upstream.js';
import { canonicalHost } from '../util/hosts.js';

/** One request grantd makes for itself: to a token endpoint or a userinfo URL. */
export interface OwnRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** The whole exchange, connect to last body byte, must fit in this. */
  timeoutMs: number;
}

export interface OwnResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Why a request got no answer, as a closed set of labels for logs. The
 * message of this error never holds a URL query, a header or a body.
 */
export class OwnRequestError extends Error {
  readonly reason: 'timeout' | 'unreachable' | 'tls' | 'too_large' | 'bad_url' | 'refused';

  constructor(reason: OwnRequestError['reason'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OwnRequestError';
    this.reason = reason;
  }
}

/** Token answers are a few hundred bytes; a megabyte is already a broken server. */
const MAX_BODY_BYTES = 1_048_576;

export const USER_AGENT = 'grantd/0.1.0';

/**
 * Sends a request through `upstream`, so the call gets the same TLS trust
 * (system roots plus `upstream.ca_file`), `resolve:` overrides and egress
 * guard as proxied calls that carry a credential (these carry the client
 * secret, a refresh token or a new access token), and buffers the answer.
 */
export function sendOwnRequest(upstream: Upstream, request: OwnRequest): Promise<OwnResponse> {
  const host = canonicalHost(request.url.hostname);
  if (host === undefined || !/^https?:$/.test(request.url.protocol)) {
    return Promise.reject(new OwnRequestError('bad_url', 'not an http(s) URL with a valid host'));
  }
  const secure = request.url.protocol === 'https:';
  const port = Number(request.url.port) || (secure ? 443 : 80);
  const headers = [
    'Host',
    request.url.port ? `${request.url.hostname}:${port}` : request.url.hostname,
    'User-Agent',
    USER_AGENT,
    ...Object.entries(request.headers).flat(),
  ];
  if (request.body !== undefined) {
    headers.push('Content-Length', String(Buffer.byteLength(request.body)));
  }
  const path = `${request.url.pathname}${request.url.search}`;

  const refusal = upstream.refusal({ host, port });
  if (refusal !== undefined) {
    return Promise.reject(
      new OwnRequestError('refused', 'the egress guard refuses this address', { cause: refusal }),
    );
  }

  return new Promise<OwnResponse>((resolve, reject) => {
    const client = upstream.request(
      { host, port, secure },
      { method: request.method, path, headers },
      { guarded: true },
    );
    let settled = false;
    const settle = (error: Error | undefined, answer?: OwnResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        client.destroy();
        reject(error);
      } else {
        resolve(answer as OwnResponse);
      }
    };
    const timer = setTimeout(() => {
      settle(new OwnRequestError('timeout', `no answer within ${request.timeoutMs} ms`));
    }, request.timeoutMs);

    client.on('error', (error) => settle(describeFailure(error)));
    client.on('response', (res) => collect(res, settle));
    client.end(request.body);
  });
}

function collect(
  res: IncomingMessage,
  settle: (error: Error | undefined, answer?: OwnResponse) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      settle(new OwnRequestError('too_large', `the answer is over ${MAX_BODY_BYTES} bytes`));
      return;
    }
    chunks.push(chunk);
  });
  res.on('error', (error) => settle(describeFailure(error)));
  res.on('aborted', () => settle(new OwnRequestError('unreachable', 'the answer was cut off')));
  res.on('end', () =>
    settle(undefined, {
      status: res.statusCode ?? 0,
      headers: res.headers,
      body: Buffer.concat(chunks),
    }),
  );
}

/** Socket and TLS errors as a label; their messages name no secret, only hosts and codes. */
function describeFailure(error: Error): OwnRequestError {
  const code = classifyUpstreamError(error);
  if (code === 'destination_refused') {
    return new OwnRequestError('refused', 'the egress guard refuses this address', {
      cause: error,
    });
  }
  if (code === 'upstream_timeout') {
    return new OwnRequestError('timeout', 'the server went silent', { cause: error });
  }
  if (code === 'upstream_tls_error') {
    return new OwnRequestError('tls', "the server's certificate does not verify", {
      cause: error,
    });
  }
  return new OwnRequestError('unreachable', 'the server could not be reached', { cause: error });
}
