/**
 * Numbered migrations, applied in order on `PRAGMA user_version`. Never edit a released
 * migration: add a new one. The array index + 1 is the version it brings the database to.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: phases, sessions, operations
  `
  CREATE TABLE megas (
    key         TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    source      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE phases (
    mega              TEXT NOT NULL REFERENCES megas(key) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    id_kind           TEXT NOT NULL CHECK (id_kind IN ('int','str')),
    ord               INTEGER NOT NULL,
    name              TEXT NOT NULL,
    points            REAL,
    tickets           TEXT NOT NULL DEFAULT '[]',
    deps              TEXT NOT NULL DEFAULT '[]',
    owner             TEXT,
    token             TEXT,
    epoch             INTEGER NOT NULL DEFAULT 0,
    claimed_at        INTEGER,
    lease_seconds     INTEGER,
    lease_expires_at  INTEGER,
    completed_at      INTEGER,
    completed_by      TEXT,
    PRIMARY KEY (mega, id)
  ) WITHOUT ROWID;
  CREATE INDEX phases_owner ON phases(owner) WHERE owner IS NOT NULL;
  CREATE INDEX phases_lease ON phases(lease_expires_at) WHERE owner IS NOT NULL;
  CREATE INDEX phases_open ON phases(mega, ord) WHERE owner IS NULL AND completed_at IS NULL;
  CREATE TABLE phase_deps (
    mega   TEXT NOT NULL,
    phase  TEXT NOT NULL,
    dep    TEXT NOT NULL,
    PRIMARY KEY (mega, phase, dep),
    FOREIGN KEY (mega, phase) REFERENCES phases(mega, id) ON DELETE CASCADE,
    FOREIGN KEY (mega, dep) REFERENCES phases(mega, id) ON DELETE CASCADE
  ) WITHOUT ROWID;
  CREATE INDEX phase_deps_dep ON phase_deps(mega, dep);
  CREATE TABLE sessions (
    instance      TEXT PRIMARY KEY,
    agent         TEXT,
    transport     TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           INTEGER,
    started_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    disconnected_at INTEGER,
    ended_at      INTEGER,
    summary       TEXT
  );
  CREATE TABLE operations (
    seq       INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    instance  TEXT,
    kind      TEXT NOT NULL,
    mega      TEXT,
    phase     TEXT,
    message   TEXT NOT NULL,
    data      TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  );
  CREATE INDEX operations_instance ON operations(instance, seq);
  CREATE INDEX operations_phase ON operations(mega, phase, seq);
  CREATE TRIGGER operations_no_update BEFORE UPDATE ON operations
    BEGIN SELECT RAISE(ABORT, 'operations is append-only'); END;
  CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations
    BEGIN SELECT RAISE(ABORT, 'operations is append-only'); END;
  `,
  // classifications: Ship/Show/Ask verdicts stored with a claimed phase (classify_change with a token)
  `
  CREATE TABLE classifications (
    id        INTEGER PRIMARY KEY,
    mega      TEXT NOT NULL,
    phase     TEXT NOT NULL,
    instance  TEXT,
    ts        INTEGER NOT NULL,
    level     TEXT NOT NULL CHECK (level IN ('ship','show','ask')),
    intent    TEXT,
    base      TEXT,
    head      TEXT,
    stats     TEXT NOT NULL,
    reasons   TEXT NOT NULL,
    FOREIGN KEY (mega, phase) REFERENCES phases(mega, id) ON DELETE CASCADE
  );
  CREATE INDEX classifications_phase ON classifications(mega, phase, id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
