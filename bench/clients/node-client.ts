import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

import type { LoadSpec } from '../protocol.js';
import type { BenchClient, Reply } from './client.js';

interface TunnelOptions {
  proxyUrl: URL;
  authorization: string;
}

/**
 * An https.Agent whose connections go through a proxy: each new socket is a
 * CONNECT to the proxy, then TLS to the target inside it. Pooling and
 * keep-alive stay the Agent's own, so this measures what a plain Node app
 * with a tunnelling agent pays.
 */
class TunnelAgent extends Agent {
  readonly #tunnel: TunnelOptions;

  constructor(options: AgentOptions, tunnel: TunnelOptions) {
    super(options);
    this.#tunnel = tunnel;
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    const done = onceOnly(callback);
    const authority = `${options.host ?? 'localhost'}:${options.port ?? 443}`;
    const connectReq = httpRequest({
      host: this.#tunnel.proxyUrl.hostname,
      port: Number(this.#tunnel.proxyUrl.port),
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, 'proxy-authorization': this.#tunnel.authorization },
      agent: false,
    });
    connectReq.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(new Error(`CONNECT ${authority} answered ${res.statusCode}`));
        return;
      }
      socket.setNoDelay(true);
      const tls = tlsConnect({
        socket,
        servername: options.servername ?? undefined,
        ca: this.options.ca,
        ALPNProtocols: ['http/1.1'],
        session: undefined,
      });
      done(null, tls);
    });
    connectReq.once('error', (error) => done(error));
    connectReq.end();
    return undefined;
  }
}

function onceOnly(
  callback: ((err: Error | null, stream: Duplex) => void) | undefined,
): (err: Error | null, stream?: Duplex) => void {
  let called = false;
  return (err, stream) => {
    if (called || !callback) return;
    called = true;
    callback(err, stream as Duplex);
  };
}

/** node:https with a keep-alive Agent; through a CONNECT-tunnelling Agent for grantd runs. */
export function createNodeClient(spec: LoadSpec): BenchClient {
  const agentOptions: AgentOptions = {
    keepAlive: !spec.newConnection,
    // No pipelining in node:http: requests beyond the sockets queue in the Agent.
    maxSockets: spec.connections ?? spec.concurrency,
    maxFreeSockets: spec.connections ?? spec.concurrency,
    ca: readFileSync(spec.caFile),
    // Full handshakes in the new-connection scenario: resumption would hide
    // the cost that scenario is there to show.
    maxCachedSessions: spec.newConnection ? 0 : 100,
  };
  const agent = spec.proxy
    ? new TunnelAgent(agentOptions, {
        proxyUrl: new URL(spec.proxy.url),
        authorization: spec.proxy.authorization,
      })
    : new Agent(agentOptions);

  const options: RequestOptions = {
    agent,
    host: spec.host,
    port: spec.port,
    servername: spec.servername,
    path: spec.path,
    method: 'GET',
    // An Agent with finite maxSockets still asks for keep-alive and reuses a
    // socket when a request is queued (Node's _http_client.js); an explicit
    // close is what makes every request open its own connection.
    headers: spec.newConnection ? { ...spec.headers, connection: 'close' } : spec.headers,
  };
  return {
    send: (headers) => sendOnce(headers ? { ...options, headers } : options),
    close: () => {
      agent.destroy();
      return Promise.resolve();
    },
  };
}

function sendOnce(options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}
