import { describe, expect, it } from 'vitest';

import { checkPolicy, matchPath, normalizePath } from '../../../src/grants/policy.js';

describe('path normalisation', () => {
  it.each([
    ['/api/chat.postMessage', '/api/chat.postMessage'],
    ['/api/chat.postMessage?channel=x', '/api/chat.postMessage'],
    ['/api/%63hat.postMessage', '/api/chat.postMessage'],
    ['/api/./chat.postMessage', '/api/chat.postMessage'],
    ['/api/x/../chat.postMessage', '/api/chat.postMessage'],
    ['/api/%2e%2e/admin', '/admin'],
    ['/api/chat.postMessage/..', '/api/'],
    ['/../../etc', '/etc'],
    ['/a//b', '/a//b'],
  ])('reads %s as %s', (raw, normalized) => {
    expect(normalizePath(raw)).toBe(normalized);
  });

  it.each(['/api%2fchat.postMessage', '/a/%5c/b', '/a/%zz', '/a/%00', 'relative'])(
    'refuses the ambiguous path %s',
    (raw) => {
      expect(normalizePath(raw)).toBeUndefined();
    },
  );
});

describe('path patterns', () => {
  it('treats a pattern without * as the path and everything below it', () => {
    expect(matchPath('/repos', '/repos')).toBe(true);
    expect(matchPath('/repos', '/repos/a/b')).toBe(true);
    expect(matchPath('/repos/', '/repos/a')).toBe(true);
    expect(matchPath('/repos', '/reposx')).toBe(false);
    expect(matchPath('/', '/anything')).toBe(true);
  });

  it('keeps * within a segment and lets ** span segments', () => {
    expect(matchPath('/api/chat.*', '/api/chat.postMessage')).toBe(true);
    expect(matchPath('/api/chat.*', '/api/chat.x/y')).toBe(false);
    expect(matchPath('/v1/**', '/v1/a/b/c')).toBe(true);
    expect(matchPath('/v1/*/items', '/v1/42/items')).toBe(true);
    expect(matchPath('/v1/*/items', '/v1/42/43/items')).toBe(false);
    expect(matchPath('/a.b', '/aXb')).toBe(false);
  });
});

describe('a policy', () => {
  const readOnly = { methods: ['GET', 'HEAD'] };
  const postOnly = { paths: ['/api/chat.postMessage'] };

  it('allows everything when empty', () => {
    expect(checkPolicy({}, 'DELETE', '/anything')).toEqual({ allowed: true });
  });

  it('refuses methods outside its list, whatever their case', () => {
    expect(checkPolicy(readOnly, 'get', '/repos').allowed).toBe(true);
    expect(checkPolicy(readOnly, 'POST', '/repos').allowed).toBe(false);
  });

  it('judges the path the upstream will see, not its spelling', () => {
    expect(checkPolicy(postOnly, 'POST', '/api/chat.postMessage').allowed).toBe(true);
    expect(checkPolicy(postOnly, 'POST', '/api/%63hat.postMessage').allowed).toBe(true);
    expect(checkPolicy(postOnly, 'POST', '/api/chat.postMessage/../admin.users').allowed).toBe(
      false,
    );
    expect(checkPolicy(postOnly, 'POST', '/api/chat.postMessage%2f..%2fadmin').allowed).toBe(false);
    expect(checkPolicy(postOnly, 'POST', '/api/users.list').allowed).toBe(false);
  });
});
