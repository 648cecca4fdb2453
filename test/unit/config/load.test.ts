import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { buildConfig, loadConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { tempDir } from '../../helpers/daemon.js';

function issuesOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    buildConfig(raw, { env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  return [];
}

describe('buildConfig', () => {
  it('fills every default from an empty document', () => {
    const config = buildConfig({}, { env: { HOME: '/home/u' } });
    expect(config.listen).toBe('127.0.0.1:8790');
    expect(config.admin).toBe('127.0.0.1:8791');
    expect(config.auth.required).toBe(true);
    expect(config.vault.backend).toBe('auto');
    expect(config.audit).toEqual({ retention_days: 30, mode: 'best_effort' });
    expect(config.upstream.timeout_ms).toBe(60_000);
    expect(config.source).toBeUndefined();
  });

  it('lets GRANTD_HOME override home, and expands ~', () => {
    expect(buildConfig({ home: '/a' }, { env: { GRANTD_HOME: '/b' } }).home).toBe('/b');
    expect(buildConfig({ home: '~/x' }, { env: {} }).home).toMatch(/\/x$/);
    expect(buildConfig({ home: '~/x' }, { env: {} }).home).not.toContain('~');
  });

  it('substitutes ${NAME} and keeps $${NAME} literal', () => {
    const config = buildConfig(
      {
        providers: {
          acme: { auth: 'api_key', hosts: ['api.acme.test'], display_name: 'A ${WHO} $${NOT}' },
        },
      },
      { env: { WHO: 'corp' } },
    );
    expect(config.providers.acme?.display_name).toBe('A corp ${NOT}');
  });

  it('reads file: secrets and drops one trailing newline', () => {
    const secret = join(tempDir(), 'secret');
    writeFileSync(secret, 's3cr3t\n');
    const config = buildConfig(
      {
        providers: {
          acme: { auth: 'api_key', hosts: ['api.acme.test'], client_secret: `file:${secret}` },
        },
      },
      { env: {} },
    );
    expect(config.providers.acme?.client_secret).toBe('s3cr3t');
  });

  it('names an unreadable secret file without echoing any secret', () => {
    const issues = issuesOf({
      providers: {
        acme: { auth: 'api_key', hosts: ['a.test'], client_secret: 'file:/nope/secret' },
      },
    });
    expect(issues).toEqual([
      'providers.acme.client_secret: cannot read secret file /nope/secret: ENOENT',
    ]);
  });

  it('never echoes the value of a secret key in a validation error', () => {
    const issues = issuesOf({
      providers: { acme: { auth: 'api_key', hosts: ['a.test'], client_secret: 42 } },
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^providers\.acme\.client_secret: /);
    expect(issues[0]).not.toContain('42');
  });

  it('collects every problem with its key path and value', () => {
    const issues = issuesOf({
      listen: 'nowhere',
      intercept: ['ok.test', 'bad host!'],
      routes: [{ app: 'a', host: 'h.test' }],
      audit: { mode: 'sometimes' },
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^listen: .*\(got "nowhere"\)$/),
        expect.stringMatching(/^intercept\[1\]: not a valid host name \(got "bad host!"\)$/),
        expect.stringMatching(/^routes\[0\]\.grant: /),
        expect.stringMatching(/^audit\.mode: .*\(got "sometimes"\)$/),
      ]),
    );
    expect(issues).toHaveLength(4);
  });

  it('refuses two routes for the same app and host', () => {
    const issues = issuesOf({
      routes: [
        { app: 'billing', host: 'api.stripe.com', grant: 'a' },
        { app: 'billing', host: 'API.Stripe.com.', grant: 'b' },
        { app: 'other', host: 'api.stripe.com', grant: 'c' },
      ],
    });
    expect(issues).toEqual([
      'routes[1]: app "billing" already routes host "api.stripe.com" (routes[0]); one host maps to one grant per app',
    ]);
  });

  it('checks custom providers for the fields their auth needs', () => {
    const issues = issuesOf({ providers: { acme: { auth: 'oauth2' } } });
    expect(issues).toEqual([
      'providers.acme.hosts: a custom provider must list its API hosts',
      'providers.acme.authorize_url: required when auth is oauth2',
      'providers.acme.token_url: required when auth is oauth2',
    ]);
  });

  it('canonicalises intercept hosts and resolve keys', () => {
    const config = buildConfig(
      { intercept: ['API.Example.TEST.'], resolve: { 'API.example.test:443': '127.0.0.1:9443' } },
      { env: {} },
    );
    expect(config.intercept).toEqual(['api.example.test']);
    expect(config.resolveMap.get('api.example.test:443')).toEqual({
      host: '127.0.0.1',
      port: 9443,
    });
  });

  it('refuses the same address for both listeners', () => {
    expect(issuesOf({ listen: '127.0.0.1:9000', admin: '127.0.0.1:9000' })).toEqual([
      'admin: must differ from listen (both are "127.0.0.1:9000")',
    ]);
  });
});

describe('loadConfig', () => {
  it('reads GRANTD_CONFIG when no file is given', () => {
    const file = join(tempDir(), 'c.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:9999\n');
    const config = loadConfig({ env: { GRANTD_CONFIG: file } });
    expect(config.listen).toBe('127.0.0.1:9999');
    expect(config.source).toBe(file);
  });

  it('reports YAML syntax errors with the file name', () => {
    const file = join(tempDir(), 'c.yaml');
    writeFileSync(file, 'listen: [unclosed\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(ConfigError);
    try {
      loadConfig({ file, env: {} });
    } catch (error) {
      expect((error as ConfigError).issues[0]).toContain(file);
    }
  });

  it('parses config.example.yaml from the repository', () => {
    const config = loadConfig({
      file: join(import.meta.dirname, '..', '..', '..', 'config.example.yaml'),
      env: { ACME_CLIENT_SECRET: 'x', SLACK_CLIENT_SECRET: 's', GRANTD_VAULT_KEY: 'y' },
    });
    expect(config.providers.acme?.hosts).toEqual(['api.acme.test']);
    expect(config.providers.slack?.client_secret).toBe('s');
  });
});

describe('the JSON Schema', () => {
  it('is generated from the config schema and matches the committed snapshot', async () => {
    const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
    await expect(JSON.stringify(schema, null, 2) + '\n').toMatchFileSnapshot(
      '../../../docs/config.schema.json',
    );
  });
});
