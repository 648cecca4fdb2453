import type { BenchOptions } from '../options.js';
import type { ClientKind } from '../protocol.js';
import { measure, verify, type Bench } from './measure.js';
import { timeCapMs } from './rows.js';
import { SCENARIOS } from './scenarios.js';

/** One client's cost, direct and through grantd, on the injected scenario at c=16. */
export interface ClientCost {
  client: ClientKind;
  directRps: number;
  grantdRps: number;
  directCpuUsPerRequest: number;
  grantdCpuUsPerRequest: number;
}

/** Which client the runs used, and why. */
export interface ClientChoice {
  client: ClientKind;
  reason: string;
  costs: ClientCost[];
}

/**
 * Measures node:https (with a CONNECT-tunnelling Agent) against undici
 * (Agent / ProxyAgent) and picks the one that spends less of its own CPU per
 * request. The load generator shares a core with the upstream, so a cheaper
 * client leaves more of that core to the upstream and the direct baseline is
 * less client-bound.
 */
export async function chooseClient(bench: Bench, options: BenchOptions): Promise<ClientChoice> {
  if (options.client) {
    return { client: options.client, reason: 'chosen by BENCH_CLIENT / --client', costs: [] };
  }
  if (options.quick) {
    // A few hundred requests do not warm either client's JIT, so a quick
    // comparison picks at random; full runs have measured undici cheaper.
    return { client: 'undici', reason: 'quick run: not measured, undici by default', costs: [] };
  }
  const scenario = SCENARIOS.find((s) => s.id === 'inject');
  if (!scenario) throw new Error('no inject scenario');
  const costs: ClientCost[] = [];
  for (const client of ['node', 'undici'] as const) {
    const side = async (mode: 'direct' | 'grantd') => {
      const run = {
        scenario,
        mode,
        client,
        concurrency: 16,
        requests: 4_000,
        warmup: 1_000,
        timeCapMs: timeCapMs(options),
      };
      const measurement = await measure(bench, run);
      verify(run, measurement, scenario.bodyBytes);
      return measurement.result;
    };
    const direct = await side('direct');
    const grantd = await side('grantd');
    costs.push({
      client,
      directRps: direct.rps,
      grantdRps: grantd.rps,
      directCpuUsPerRequest: direct.clientCpuUsPerRequest,
      grantdCpuUsPerRequest: grantd.clientCpuUsPerRequest,
    });
  }
  const total = (c: ClientCost) => c.directCpuUsPerRequest + c.grantdCpuUsPerRequest;
  const [first, second] = costs as [ClientCost, ClientCost];
  const winner = total(first) <= total(second) ? first : second;
  return {
    client: winner.client,
    reason: 'less client CPU per request, direct plus through grantd, at c=16',
    costs,
  };
}
