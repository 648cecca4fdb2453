import { describe, expect, it } from 'vitest';

import { canonicalHost, formatHostPort, parseHostPort } from '../../../src/util/hosts.js';

describe('canonicalHost', () => {
  it.each([
    ['API.OpenAI.com', 'api.openai.com'],
    ['api.openai.com.', 'api.openai.com'],
    ['[::1]', '::1'],
    ['[2001:DB8::1]', '2001:db8::1'],
    // One spelling per IPv6 address, the one URL and undici use: the egress
    // guard checks the address that is dialled, not another spelling of it.
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['0:0::ffff:8.8.8.8', '::ffff:808:808'],
    ['::FFFF:A9FE:A9FE', '::ffff:a9fe:a9fe'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['127.0.0.1', '127.0.0.1'],
  ])('%s becomes %s', (raw, canonical) => {
    expect(canonicalHost(raw)).toBe(canonical);
  });

  it.each(['', '.', 'a..b', 'has space.test', 'a/b', 'x@y', 'fe80::1%eth0', '[fe80::1%25eth0]'])(
    '%j is not a host',
    (raw) => {
      expect(canonicalHost(raw)).toBeUndefined();
    },
  );
});

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and a bare host with a default', () => {
    expect(parseHostPort('Example.test:443')).toEqual({ host: 'example.test', port: 443 });
    expect(parseHostPort('[::1]:8790')).toEqual({ host: '::1', port: 8790 });
    expect(parseHostPort('example.test', 80)).toEqual({ host: 'example.test', port: 80 });
  });

  it('refuses missing or impossible ports', () => {
    expect(parseHostPort('example.test')).toBeUndefined();
    expect(parseHostPort('example.test:65536')).toBeUndefined();
    expect(parseHostPort('[example.test]:1')).toBeUndefined();
    expect(parseHostPort('a:b:c')).toBeUndefined();
  });

  it('round-trips through formatHostPort', () => {
    expect(formatHostPort({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(formatHostPort({ host: 'a.test', port: 2 })).toBe('a.test:2');
  });
});
