import { describe, expect, it } from 'vitest';

import { EgressGuard, embeddedIPv4, isNetwork } from '../../../src/proxy/egress-guard.js';

describe('the egress guard', () => {
  const guard = new EgressGuard();

  it.each([
    ['169.254.169.254', 'metadata'],
    ['169.254.0.1', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['127.0.0.1', 'private'],
    ['127.8.9.10', 'private'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['0.0.0.0', 'private'],
    ['::1', 'private'],
    ['::', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['2002:7f00:1::', 'private'],
    ['224.0.0.1', 'private'],
    ['8.8.8.8', 'ok'],
    ['172.32.0.1', 'ok'],
    ['100.128.0.1', 'ok'],
    ['2606:4700::1111', 'ok'],
    ['::ffff:8.8.8.8', 'ok'],
  ])('judges %s as %s', (address, verdict) => {
    expect(guard.judge(address)).toBe(verdict);
  });

  it('refuses what is not an address at all', () => {
    expect(guard.judge('example.com')).toBe('private');
  });

  it('opens allowed private networks but never metadata', () => {
    const dev = new EgressGuard(['127.0.0.0/8', '10.0.0.5', '169.254.0.0/16']);
    expect(dev.judge('127.0.0.1')).toBe('ok');
    expect(dev.judge('::ffff:127.0.0.1')).toBe('ok');
    expect(dev.judge('10.0.0.5')).toBe('ok');
    expect(dev.judge('10.0.0.6')).toBe('private');
    expect(dev.judge('169.254.169.254')).toBe('metadata');
  });

  it('finds the IPv4 address inside mapped, NAT64 and 6to4 IPv6 addresses', () => {
    expect(embeddedIPv4('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(embeddedIPv4('::ffff:0102:0304')).toBe('1.2.3.4');
    expect(embeddedIPv4('64:ff9b::102:304')).toBe('1.2.3.4');
    expect(embeddedIPv4('2002:102:304::1')).toBe('1.2.3.4');
    expect(embeddedIPv4('2606:4700::1111')).toBeUndefined();
    expect(embeddedIPv4('1.2.3.4')).toBeUndefined();
  });

  it('accepts addresses and CIDR networks as config, and nothing else', () => {
    expect(isNetwork('10.0.0.0/8')).toBe(true);
    expect(isNetwork('::1')).toBe(true);
    expect(isNetwork('fd00::/8')).toBe(true);
    expect(isNetwork('10.0.0.0/33')).toBe(false);
    expect(isNetwork('localhost')).toBe(false);
    expect(isNetwork('10.0.0.0/x')).toBe(false);
  });
});
