import { describe, expect, it } from 'vitest';

import {
  forwardableRequestHeaders,
  forwardableResponseHeaders,
} from '../../../src/proxy/headers.js';

describe('forwardableRequestHeaders', () => {
  it('keeps end-to-end fields in order and case, drops hop-by-hop and grantd fields', () => {
    const raw = [
      'Host',
      'a.test',
      'X-One',
      '1',
      'Connection',
      'keep-alive, X-Private',
      'X-Private',
      'p',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Authorization',
      'Basic Zm9vOmJhcg==',
      'Proxy-Connection',
      'keep-alive',
      'Transfer-Encoding',
      'chunked',
      'TE',
      'trailers',
      'Upgrade',
      'h2c',
      'Grantd-Grant',
      'g',
      'GRANTD-Other',
      'o',
      'x-two',
      '2',
    ];
    expect(forwardableRequestHeaders(raw)).toEqual(['Host', 'a.test', 'X-One', '1', 'x-two', '2']);
  });

  it('keeps Upgrade and sets Connection: Upgrade for a WebSocket handshake', () => {
    const raw = [
      'Host',
      'a.test',
      'Connection',
      'Upgrade',
      'Upgrade',
      'websocket',
      'Sec-WebSocket-Key',
      'k',
    ];
    expect(forwardableRequestHeaders(raw, true)).toEqual([
      'Host',
      'a.test',
      'Upgrade',
      'websocket',
      'Sec-WebSocket-Key',
      'k',
      'Connection',
      'Upgrade',
    ]);
  });
});

describe('forwardableResponseHeaders', () => {
  it('keeps repeated fields such as Set-Cookie and drops hop-by-hop ones', () => {
    const raw = [
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Connection',
      'close',
      'Transfer-Encoding',
      'chunked',
      'Grantd-X',
      'kept',
    ];
    expect(forwardableResponseHeaders(raw)).toEqual([
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Grantd-X',
      'kept',
    ]);
  });
});
