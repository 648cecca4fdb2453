import { createRequire } from 'node:module';

import type { Agent as UndiciAgent } from 'undici';

// undici's entry point also loads fetch, WebSocket, cookies and caches: about
// 45 ms and 8 MiB more at every start. The proxy needs only the Agent, taken
// from its file; undici is pinned, so the path cannot move underneath.
const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;
