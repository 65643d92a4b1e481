import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/cli/init.js';

// `npm run demo -- --exit` as a person runs it (a real process, stdout a pipe): one line per claim
// and completion, every phase completed exactly once, what to do next, and no database left behind
// unless --keep.
const PKG = packageRoot();
const CLI = path.join(PKG, 'dist', 'src', 'cli.js');
const kept: string[] = [];
afterAll(() => {
  for (const d of kept) fs.rmSync(d, { recursive: true, force: true });
});

function demo(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(PKG, 'dist', 'scripts', 'demo.js'), '--exit', ...args], {
    cwd: PKG,
    encoding: 'utf8',
    env: { ...process.env, FACTORY_LOG: 'silent' },
    timeout: 120_000,
  });
  const db = /database (\S+factory\.db)/.exec(r.stdout)?.[1];
  if (db) kept.push(path.dirname(db));
  return { ...r, db };
}

describe('the demo teaches', () => {
  it('--exit: a line per claim and completion, all 12 phases completed exactly once, what next; its temporary database is gone', () => {
    const r = demo();
    expect(r.status).toBe(0);
    expect(r.db).toBeDefined();
    const completed = [...r.stdout.matchAll(/✔ completed +(\d+) /g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    expect(completed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect([...r.stdout.matchAll(/▶ claimed +(\d+) /g)]).toHaveLength(12);
    expect(r.stdout).toMatch(/12 phases completed exactly once by 4 agents/);
    expect(r.stdout).toMatch(/what next:\n {2}in your repository: {2}npx factory-mcp init/);
    expect(r.stdout).toContain('run with --keep to inspect it with `node dist/src/cli.js status --db …`');
    expect(fs.existsSync(path.dirname(r.db!))).toBe(false);
  });

  it('--keep: the database stays, and the status command it prints shows the finished board', () => {
    const r = demo('--keep');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`inspect this run:    node dist/src/cli.js status --db ${r.db}    (kept: remove ${path.dirname(r.db!)} when done)`);
    expect(fs.existsSync(r.db!)).toBe(true);
    const status = spawnSync(process.execPath, [CLI, 'status', '--db', r.db!, '--json'], { cwd: PKG, encoding: 'utf8' });
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout).megas[0]).toMatchObject({ key: 'DEMO-1', done: 12, total: 12 });
  });
});
