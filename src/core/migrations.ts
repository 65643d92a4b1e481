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
    unmet             INTEGER NOT NULL DEFAULT 0, -- deps not yet completed (kept by plan and complete)
    claimed_at        INTEGER,
    lease_seconds     INTEGER,
    lease_expires_at  INTEGER,
    completed_at      INTEGER,
    completed_by      TEXT,
    PRIMARY KEY (mega, id)
  ) WITHOUT ROWID;
  CREATE INDEX phases_owner ON phases(owner) WHERE owner IS NOT NULL;
  CREATE INDEX phases_lease ON phases(lease_expires_at) WHERE owner IS NOT NULL;
  CREATE INDEX phases_ready ON phases(mega, ord) WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0;
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
  -- Only SESSION-START entries are looked up by instance; a partial index keeps every other
  -- append (claims, completions: the hot path) free of index writes.
  CREATE INDEX operations_session_start ON operations(instance) WHERE kind = 'session_start';
  CREATE TRIGGER operations_no_update BEFORE UPDATE ON operations
    BEGIN SELECT RAISE(ABORT, 'operations is append-only'); END;
  CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations
    BEGIN SELECT RAISE(ABORT, 'operations is append-only'); END;
  `,
  // council: reviews, verdicts, reports, and the Linear outbox (a report is never lost to a failed post)
  `
  CREATE TABLE councils (
    id           INTEGER PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    instance     TEXT,
    mega         TEXT,
    phase        TEXT,
    ticket       TEXT,
    title        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    source       TEXT NOT NULL,
    reviews      TEXT NOT NULL,
    average      REAL NOT NULL,
    verdict      TEXT NOT NULL CHECK (verdict IN ('go','adjust','reject')),
    adjustments  TEXT NOT NULL,
    report       TEXT NOT NULL,
    comment_url  TEXT
  );
  CREATE INDEX councils_phase ON councils(mega, phase, id);
  CREATE TABLE council_outbox (
    council       INTEGER PRIMARY KEY REFERENCES councils(id),
    ticket        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    locked_until  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
  );
  `,
  // the human gate: acknowledgements of Ask changes and rejected councils
  `
  CREATE TABLE acks (
    kind  TEXT NOT NULL CHECK (kind IN ('council','change')),
    ref   TEXT NOT NULL,
    note  TEXT,
    at    INTEGER NOT NULL,
    PRIMARY KEY (kind, ref)
  ) WITHOUT ROWID;
  `,
  // sessions: checkpoints, memory, usage; which session adopted an interrupted one
  `
  ALTER TABLE sessions ADD COLUMN adopted_by TEXT;
  ALTER TABLE sessions ADD COLUMN adopted_at INTEGER;
  CREATE INDEX sessions_open ON sessions(last_seen_at) WHERE ended_at IS NULL AND adopted_by IS NULL;
  CREATE TABLE checkpoints (
    id        INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    instance  TEXT NOT NULL,
    mega      TEXT,
    phase     TEXT,
    done      TEXT NOT NULL DEFAULT '[]',
    next      TEXT NOT NULL DEFAULT '[]',
    percent   REAL,
    files     TEXT NOT NULL DEFAULT '[]',
    note      TEXT
  );
  CREATE INDEX checkpoints_instance ON checkpoints(instance, id);
  CREATE INDEX checkpoints_phase ON checkpoints(mega, phase, id);
  CREATE TABLE memory (
    id        INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    instance  TEXT NOT NULL,
    author    TEXT,
    section   TEXT NOT NULL CHECK (section IN ('status','decisions','known_issues')),
    text      TEXT NOT NULL
  );
  CREATE INDEX memory_section ON memory(section, id);
  CREATE TABLE usage (
    id        INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    instance  TEXT NOT NULL,
    tokens    INTEGER NOT NULL,
    cost_usd  REAL NOT NULL,
    model     TEXT
  );
  CREATE INDEX usage_ts ON usage(ts);
  CREATE INDEX usage_instance ON usage(instance);
  -- The chain's head, kept by a trigger, so log --verify also notices entries cut off the end.
  CREATE TABLE operations_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
  INSERT INTO operations_head (id, seq, hash) SELECT 1, seq, hash FROM operations ORDER BY seq DESC LIMIT 1;
  CREATE TRIGGER operations_head_track AFTER INSERT ON operations
    BEGIN INSERT OR REPLACE INTO operations_head (id, seq, hash) VALUES (1, NEW.seq, NEW.hash); END;
  `,
  // dod: check_dod runs, per-check cache, test/lint baselines of the default branch
  `
  CREATE TABLE dod_runs (
    id        INTEGER PRIMARY KEY,
    ts        INTEGER NOT NULL,
    instance  TEXT,
    mega      TEXT,
    phase     TEXT,
    tree      TEXT NOT NULL,
    base      TEXT,
    passed    INTEGER NOT NULL,
    partial   INTEGER NOT NULL,
    score     TEXT NOT NULL,
    cached    INTEGER NOT NULL,
    checks    TEXT NOT NULL
  );
  CREATE INDEX dod_runs_phase ON dod_runs(mega, phase, id);
  CREATE TABLE dod_cache (
    tree        TEXT NOT NULL,
    config      TEXT NOT NULL,
    base        TEXT NOT NULL,
    component   TEXT NOT NULL,
    check_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    PRIMARY KEY (tree, config, base, component, check_id)
  ) WITHOUT ROWID;
  CREATE TABLE dod_baselines (
    base          TEXT NOT NULL,
    config        TEXT NOT NULL,
    component     TEXT NOT NULL,
    passed_tests  TEXT,
    warnings      TEXT,
    ts            INTEGER NOT NULL,
    PRIMARY KEY (base, config, component)
  ) WITHOUT ROWID;
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
  // the gates as GitHub commit statuses: a generic outbox (the council outbox's pattern: a failed
  // delivery is kept, locked while in flight, retried with backoff) and the PR branch of each phase
  `
  CREATE TABLE outbox (
    kind            TEXT NOT NULL,
    key             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
  ) WITHOUT ROWID;
  CREATE TABLE phase_pulls (
    mega    TEXT NOT NULL,
    phase   TEXT NOT NULL,
    branch  TEXT NOT NULL,
    number  INTEGER NOT NULL,
    ts      INTEGER NOT NULL,
    PRIMARY KEY (mega, phase)
  ) WITHOUT ROWID;
  `,
  // liveness: every server process (stdio or HTTP) registers itself and heartbeats; sessions belong to one
  `
  CREATE TABLE servers (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    pid_start    INTEGER,
    transport    TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    stopped_at   INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX servers_running ON servers(heartbeat_at) WHERE stopped_at IS NULL;
  ALTER TABLE sessions ADD COLUMN server_id TEXT;
  `,
  // the human gate: a salted hash of the enrolled ack token (first enrollment wins), so the CLI and
  // every HTTP server check the token's value, not just its presence
  `
  CREATE TABLE ack_verifier (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    verifier  TEXT NOT NULL,
    set_at    INTEGER NOT NULL
  );
  `,
  // the council gate: the most points a phase was ever planned with, so re-planning it lower does not lift the gate
  `
  ALTER TABLE phases ADD COLUMN max_points REAL;
  UPDATE phases SET max_points = points;
  `,
  // a board that scales (issue 14): the ready phases of every MEGA in claim order as one index (each phase
  // carries its MEGA's created_at, so claim_phase {} reads no MEGA list), and keyset pages of MEGAs and phases
  `
  ALTER TABLE phases ADD COLUMN mega_at INTEGER NOT NULL DEFAULT 0;
  UPDATE phases SET mega_at = (SELECT created_at FROM megas WHERE key = phases.mega);
  CREATE INDEX phases_ready_any ON phases(mega_at, mega, ord) WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0;
  CREATE INDEX phases_page ON phases(mega, ord);
  CREATE INDEX megas_page ON megas(created_at, key);
  `,
  // CLI sessions (factory-mcp session start): the SHA-256 of each session's secret key, never the
  // key; a table of its own so no `SELECT * FROM sessions` (board, /api/sessions, export) carries it
  `
  CREATE TABLE session_keys (
    key_hash   TEXT PRIMARY KEY,
    instance   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // file reservations (src/pipeline/reservations.ts): the globs a claim reserves; live while the
  // phase is claimed (adoption keeps them), reset by the next fresh claim of the phase
  `
  CREATE TABLE reservations (
    mega      TEXT NOT NULL,
    phase     TEXT NOT NULL,
    glob      TEXT NOT NULL,
    ord       INTEGER NOT NULL,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (mega, phase, glob)
  ) WITHOUT ROWID;
  `,
  // a branch and a git worktree per claim (src/pipeline/worktrees.ts): kept past release and completion
  // until it is cleaned up safely, so a re-claim reuses it and `factory-mcp worktrees` names its phase
  `
  CREATE TABLE worktrees (
    mega        TEXT NOT NULL,
    phase       TEXT NOT NULL,
    branch      TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (mega, phase)
  ) WITHOUT ROWID;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
