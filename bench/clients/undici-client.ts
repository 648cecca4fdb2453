import { readFileSync } from 'node:fs';

import { Agent, ProxyAgent, type Dispatcher } from 'undici';

import type { LoadSpec } from '../protocol.js';
import type { BenchClient, Reply } from './client.js';

/** undici's Agent, or its ProxyAgent (CONNECT tunnels) for grantd runs. */
export function createUndiciClient(spec: LoadSpec): BenchClient {
  const tls = {
    ca: readFileSync(spec.caFile),
    servername: spec.servername,
    // As for node:https: full handshakes when every request is a new connection.
    maxCachedSessions: spec.newConnection ? 0 : 100,
  };
  const pipelining = spec.pipelining ?? 1;
  const common = {
    connections: spec.connections ?? spec.concurrency,
    keepAliveTimeout: 120_000,
    pipelining,
  };
  const dispatcher: Dispatcher = spec.proxy
    ? new ProxyAgent({
        ...common,
        uri: spec.proxy.url,
        token: spec.proxy.authorization,
        requestTls: tls,
      })
    : new Agent({ ...common, connect: tls });

  const origin = `https://${spec.host}:${spec.port}`;
  return {
    send: (headers = spec.headers) => sendOnce(dispatcher, origin, spec, headers, pipelining > 1),
    close: () => dispatcher.close(),
  };
}

async function sendOnce(
  dispatcher: Dispatcher,
  origin: string,
  spec: LoadSpec,
  headers: Record<string, string>,
  pipelined: boolean,
): Promise<Reply> {
  const { statusCode, body } = await dispatcher.request({
    origin,
    path: spec.path,
    method: 'GET',
    headers,
    // `reset` sends `connection: close` and drops the socket after the response.
    reset: spec.newConnection,
    // A blocking request (undici's default for GET) holds the connection until its
    // response headers arrive, which would turn pipelining off.
    blocking: !pipelined,
  });
  let bytes = 0;
  for await (const chunk of body) bytes += (chunk as Buffer).length;
  return { status: statusCode, bytes };
}
