import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Every run gets a temp folder of its own (mode 1777 like /tmp: some tests run a server as another
// user); test/helpers/tmp-guard.ts fails the run if a test leaves anything in it. One real PostgreSQL
// server serves the whole run (test/helpers/postgres-server.ts; tests use test/helpers/postgres.ts).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-tests-'));
fs.chmodSync(tmp, 0o1777);

// The store's behaviour tests run again on PostgreSQL (test/helpers/server.ts dbTarget(): a fresh
// database per harness), except the files that need SQLite itself:
const SQLITE_ONLY = [
  'test/integration/oplog.test.ts', // tampers with the database file's bytes and pages (log --verify's page check)
  'test/integration/sqlite-tx.test.ts', // the SQLite engine's own transactions
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { TMPDIR: tmp },
    globalSetup: ['test/helpers/tmp-guard.ts', 'test/helpers/postgres-server.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], env: { TMPDIR: tmp } } },
      {
        extends: true,
        test: {
          name: 'postgres',
          // … and the race and crash tests of real processes, each on its own fresh database
          include: ['test/integration/**/*.test.ts', 'test/e2e/race.test.ts', 'test/e2e/crash.test.ts', 'test/e2e/report.test.ts'],
          exclude: [...SQLITE_ONLY, 'test/integration/pg-*.test.ts'],
          env: { TMPDIR: tmp, FACTORY_TEST_ENGINE: 'postgres' },
        },
      },
    ],
  },
});
