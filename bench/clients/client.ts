import type { LoadSpec } from '../protocol.js';
import { createNodeClient } from './node-client.js';
import { createUndiciClient } from './undici-client.js';

/** One response as the load generator needs it: its status and how much body was read. */
export interface Reply {
  status: number;
  bytes: number;
}

/** A keep-alive (or, for the new-connection scenario, a one-shot) HTTPS client. */
export interface BenchClient {
  /** Sends one GET (with the spec's headers unless given others) and reads the whole body. */
  send(headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

/** The client the spec names, set up for direct or proxied (CONNECT) use. */
export function createClient(spec: LoadSpec): BenchClient {
  return spec.client === 'undici' ? createUndiciClient(spec) : createNodeClient(spec);
}
