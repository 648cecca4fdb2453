/**
 * The schema, as an append-only list of migrations. `PRAGMA user_version`
 * records how many have run; each runs once, in its own transaction. Never
 * edit a shipped migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE apps (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
  );

  -- Only a SHA-256 of each key is kept: keys are 190+ random bits, so a slow
  -- password hash would add latency to every request and no safety.
  CREATE TABLE keys (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    hash          BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
  );
  CREATE INDEX keys_app ON keys(app_id);

  -- A grant row never holds a secret: the credential is in the vault under
  -- the grant id, and secret_version says which write of it is current.
  CREATE TABLE grants (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    provider        TEXT NOT NULL,
    alias           TEXT,
    principal       TEXT,
    kind            TEXT NOT NULL CHECK (kind IN ('static', 'oauth')),
    status          TEXT NOT NULL CHECK (status IN ('active', 'needs_reauth')),
    params          TEXT NOT NULL DEFAULT '{}',
    extra_hosts     TEXT NOT NULL DEFAULT '[]',
    scopes          TEXT,
    secret_version  INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    UNIQUE (app_id, alias)
  );

  -- Rows copy names rather than reference ids, so history outlives the apps,
  -- keys and grants it names.
  CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY,
    ts           INTEGER NOT NULL,
    request_id   TEXT NOT NULL,
    app          TEXT,
    key_id       TEXT,
    grant_id     TEXT,
    provider     TEXT,
    principal    TEXT,
    method       TEXT NOT NULL,
    host         TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    refreshed    INTEGER NOT NULL DEFAULT 0,
    duration_ms  REAL NOT NULL,
    bytes_in     INTEGER NOT NULL DEFAULT 0,
    bytes_out    INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX audit_ts ON audit(ts);
  CREATE INDEX audit_grant ON audit(grant_id, ts);

  -- Cross-process mutual exclusion (one token refresh per grant at a time).
  CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
  );
  `,
  `
  -- Optional method and path rules per grant, as JSON {"methods": [...], "paths": [...]}.
  ALTER TABLE grants ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
  `,
  `
  -- One-time login links for the local portal (grantd portal): only a SHA-256
  -- of each token, when it stops working, and when it was used.
  CREATE TABLE portal_logins (
    hash        BLOB PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
  );
  `,
];
