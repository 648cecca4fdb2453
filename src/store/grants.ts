import type { Policy } from '../grants/policy.js';
import { randomBase62 } from '../util/ids.js';
import { isUniqueViolation, StoreConflict } from './apps.js';
import type { Database } from './database.js';

export type GrantStatus = 'active' | 'needs_reauth';
export type GrantKind = 'static' | 'oauth';

/** A grant as the store knows it: everything but the secret. */
export interface Grant {
  id: string;
  appId: string;
  appName: string;
  provider: string;
  alias: string | undefined;
  principal: string | undefined;
  kind: GrantKind;
  status: GrantStatus;
  /** Per-grant values captured at connect time (shop, subdomain, tenant). */
  params: Record<string, string>;
  /** Hosts this grant adds to its provider's (a Salesforce instance). */
  extraHosts: string[];
  scopes: string | undefined;
  /** Method and path rules; empty allows everything the provider's hosts serve. */
  policy: Policy;
  /** Bumped on every vault write, so caches know when to read again. */
  secretVersion: number;
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | undefined;
}

export interface NewGrant {
  appId: string;
  provider: string;
  alias?: string | undefined;
  principal?: string | undefined;
  kind: GrantKind;
  params?: Record<string, string>;
  extraHosts?: string[];
  scopes?: string | undefined;
  policy?: Policy;
}

interface GrantRow {
  id: string;
  app_id: string;
  app_name: string;
  provider: string;
  alias: string | null;
  principal: string | null;
  kind: GrantKind;
  status: GrantStatus;
  params: string;
  extra_hosts: string;
  policy: string;
  scopes: string | null;
  secret_version: number;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
}

/** Grant ids look like `gr_` and 16 base62 characters; aliases never do. */
export const GRANT_ID = /^gr_[0-9A-Za-z]{16}$/;
export const GRANT_ALIAS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Whether `alias` may name a grant: alias-shaped, and never mistaken for an id. */
export function isValidAlias(alias: string): boolean {
  return GRANT_ALIAS.test(alias) && !GRANT_ID.test(alias);
}

/** What connecting an existing grant again replaces: everything learnt at connect time. */
export interface GrantRepair {
  principal: string | undefined;
  params: Record<string, string>;
  extraHosts: string[];
  scopes: string | undefined;
}

export class GrantStore {
  readonly #insert;
  readonly #byId;
  readonly #byAlias;
  readonly #list;
  readonly #delete;
  readonly #bump;
  readonly #setStatus;
  readonly #repair;
  readonly #activeProviders;
  readonly #extraHosts;

  readonly #changed: () => void;

  constructor(db: Database, changed: () => void = () => undefined) {
    this.#changed = changed;
    const select = `SELECT grants.*, apps.name AS app_name FROM grants JOIN apps ON apps.id = grants.app_id`;
    this.#insert = db.prepare(
      `INSERT INTO grants (id, app_id, provider, alias, principal, kind, status, params,
         extra_hosts, scopes, policy, created_at, updated_at)
       VALUES (@id, @appId, @provider, @alias, @principal, @kind, 'active', @params,
         @extraHosts, @scopes, @policy, @now, @now)`,
    );
    this.#byId = db.prepare<[string], GrantRow>(`${select} WHERE grants.id = ?`);
    this.#byAlias = db.prepare<[string, string], GrantRow>(
      `${select} WHERE grants.app_id = ? AND grants.alias = ?`,
    );
    this.#list = db.prepare<[string | null, string | null], GrantRow>(
      `${select} WHERE (? IS NULL OR grants.app_id = ?) ORDER BY apps.name, grants.created_at`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM grants WHERE id = ?');
    this.#bump = db.prepare<[number, string], { secret_version: number }>(
      `UPDATE grants SET secret_version = secret_version + 1, updated_at = ?
       WHERE id = ? RETURNING secret_version`,
    );
    this.#setStatus = db.prepare<[GrantStatus, number, string]>(
      'UPDATE grants SET status = ?, updated_at = ? WHERE id = ?',
    );
    this.#repair = db.prepare(
      `UPDATE grants SET principal = @principal, params = @params, extra_hosts = @extraHosts,
         scopes = @scopes, kind = 'oauth', status = 'active', updated_at = @now
       WHERE id = @id`,
    );
    this.#activeProviders = db.prepare<[], { provider: string }>(
      'SELECT DISTINCT provider FROM grants',
    );
    this.#extraHosts = db.prepare<[], { extra_hosts: string }>(
      "SELECT DISTINCT extra_hosts FROM grants WHERE extra_hosts != '[]'",
    );
  }

  /** Records a grant; throws StoreConflict when the app already has the alias. */
  create(grant: NewGrant, now = Date.now()): Grant {
    const id = `gr_${randomBase62(16)}`;
    try {
      this.#insert.run({
        id,
        appId: grant.appId,
        provider: grant.provider,
        alias: grant.alias ?? null,
        principal: grant.principal ?? null,
        kind: grant.kind,
        params: JSON.stringify(grant.params ?? {}),
        extraHosts: JSON.stringify(grant.extraHosts ?? []),
        policy: JSON.stringify(grant.policy ?? {}),
        scopes: grant.scopes ?? null,
        now,
      });
      this.#changed();
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new StoreConflict(`the app already has a grant with alias ${grant.alias}`);
      }
      throw error;
    }
    return this.byId(id) as Grant;
  }

  byId(id: string): Grant | undefined {
    const row = this.#byId.get(id);
    return row && toGrant(row);
  }

  /**
   * The app's grant named by id or alias. A grant of another app is not
   * found, exactly as one that does not exist.
   */
  find(appId: string, ref: string): Grant | undefined {
    const row = GRANT_ID.test(ref) ? this.#byId.get(ref) : this.#byAlias.get(appId, ref);
    return row && row.app_id === appId ? toGrant(row) : undefined;
  }

  list(appId?: string): Grant[] {
    const app = appId ?? null;
    return this.#list.all(app, app).map(toGrant);
  }

  delete(id: string): boolean {
    const deleted = this.#delete.run(id).changes > 0;
    this.#changed();
    return deleted;
  }

  /** Marks a new vault write; returns the version the new secret is stored under. */
  bumpSecretVersion(id: string, now = Date.now()): number {
    const row = this.#bump.get(now, id);
    this.#changed();
    if (!row) throw new Error(`no grant ${id}`);
    return row.secret_version;
  }

  setStatus(id: string, status: GrantStatus, now = Date.now()): void {
    this.#setStatus.run(status, now, id);
    this.#changed();
  }

  /**
   * Records a successful reconnect of an existing grant: what the provider
   * said at connect time, and status active again. The id, alias and app stay.
   */
  repair(id: string, details: GrantRepair, now = Date.now()): boolean {
    const result = this.#repair.run({
      id,
      principal: details.principal ?? null,
      params: JSON.stringify(details.params),
      extraHosts: JSON.stringify(details.extraHosts),
      scopes: details.scopes ?? null,
      now,
    });
    this.#changed();
    return result.changes > 0;
  }

  /** Providers with at least one grant: their hosts are the ones to intercept. */
  providersInUse(): string[] {
    return this.#activeProviders.all().map((row) => row.provider);
  }

  /**
   * Hosts single grants add to their provider's (a Salesforce instance, a
   * Pipedrive company domain): to be intercepted as well.
   */
  extraHostsInUse(): string[] {
    const hosts = new Set<string>();
    for (const row of this.#extraHosts.all()) {
      for (const host of JSON.parse(row.extra_hosts) as string[]) hosts.add(host);
    }
    return [...hosts];
  }
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    appId: row.app_id,
    appName: row.app_name,
    provider: row.provider,
    alias: row.alias ?? undefined,
    principal: row.principal ?? undefined,
    kind: row.kind,
    status: row.status,
    params: JSON.parse(row.params) as Record<string, string>,
    extraHosts: JSON.parse(row.extra_hosts) as string[],
    policy: JSON.parse(row.policy) as Policy,
    scopes: row.scopes ?? undefined,
    secretVersion: row.secret_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at ?? undefined,
  };
}
