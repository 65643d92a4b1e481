import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/cli/init.js';

// `npm run demo -- --exit` as a person runs it (a real process, stdout a pipe). The pipeline demo
// (the default): four agents from claim to merged pull request on a real repository, its bare
// remote and the fake GitHub. The coordination demo (`--simple`): one line per claim and
// completion, every phase completed exactly once. Both say what to do next and leave nothing
// behind unless --keep.
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
  const db = /database +(\S+factory\.db)/.exec(r.stdout)?.[1];
  if (db) kept.push(path.dirname(db));
  return { ...r, db };
}

describe('the coordination demo (--simple) teaches', () => {
  it('--exit: a line per claim and completion, all 12 phases completed exactly once, what next; its temporary database is gone', () => {
    const r = demo('--simple');
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
    const r = demo('--simple', '--keep');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`inspect this run:    node dist/src/cli.js status --db ${r.db}    (kept: remove ${path.dirname(r.db!)} when done)`);
    expect(fs.existsSync(r.db!)).toBe(true);
    const status = spawnSync(process.execPath, [CLI, 'status', '--db', r.db!, '--json'], { cwd: PKG, encoding: 'utf8' });
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout).megas[0]).toMatchObject({ key: 'DEMO-1', done: 12, total: 12 });
  });
});

describe('the pipeline demo (the default) shows a phase from claim to merged pull request', () => {
  const git = (cwd: string, ...args: string[]) => spawnSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).stdout.trim();
  const events = (out: string, what: string) => [...out.matchAll(new RegExp(`${what} +(\\d+) `, 'g'))].map((m) => Number(m[1])).sort((a, b) => a - b);
  const ALL = [1, 2, 3, 4, 5, 6, 7];

  it('--exit: every phase claimed in its own worktree, classified in every tier, 10/10, merged once; the large one waits for a human; nothing left behind', () => {
    const r = demo();
    expect(r.status, r.stderr).toBe(0);
    expect(events(r.stdout, '▶ claimed')).toEqual(ALL);
    expect(events(r.stdout, '⇲ merged')).toEqual(ALL);
    expect(events(r.stdout, '✔ completed')).toEqual(ALL);
    expect(events(r.stdout, '✔ DoD')).toEqual(ALL);
    expect([...r.stdout.matchAll(/✔ DoD +\d+ {2}10\/10\n/g)]).toHaveLength(7);
    expect([...r.stdout.matchAll(/▶ claimed +\d+ {2}.* → worktree \.factory\/worktrees\/demo-2-\d-[a-z-]+, branch factory\/demo-2-\d-[a-z-]+\n/g)]).toHaveLength(7);
    const tiers = [...r.stdout.matchAll(/◆ classified +\d+ {2}(SHIP|SHOW|ASK), tier (s|m|l|xl)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(new Set(tiers)).toEqual(new Set(['SHOW s', 'SHOW m', 'SHOW l', 'SHIP s', 'ASK xl', 'SHOW m']));
    expect(r.stdout).toMatch(/◆ classified +5 {2}ASK, tier xl \(340 lines\) — too_large/);
    // The gate held the large one until a human approved it on GitHub, then merged it.
    const order = ['⏸ not merged +5 {2}awaiting_human: ASK needs a human; merge_phase put PR #[0-9]+ in the open: labelled "ask", requested alice', '✓ approves +5 ', '⇲ merged +5 '].map((p) =>
      r.stdout.search(new RegExp(p)),
    );
    expect(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1]!))).toBe(true);
    expect([...r.stdout.matchAll(/⏸ not merged/g)]).toHaveLength(1);
    // A claim asking for files another claim reserved is refused, naming the file and its holder.
    expect(r.stdout).toMatch(/aider +⛔ refused +- {2}claim_phase \{files: \["data\/\*\*"\]\}: files_reserved, reserved by data\/[a-z]+\.csv \((claude-code|cursor|codex), phase [1-4]\)/);
    expect(r.stdout).toMatch(/7 phases merged exactly once by 4 agents in [\d.]+ s; origin's main: the start \+ 7 squash commits/);
    expect(r.stdout).toContain('0 worktrees left');
    expect(r.stdout).toMatch(/what next:\n {2}in your repository: {2}npx factory-mcp init/);
    expect(r.stdout).not.toMatch(/demo-[0-9a-f]{32}/); // the fake's token is never printed
    expect(fs.existsSync(path.dirname(r.db!))).toBe(false); // repository, remote, worktrees and database gone
  });

  it('--keep: the remote main holds one squash commit per PR at the head the gates judged; no worktree or branch left; the token in no file', () => {
    const r = demo('--keep');
    expect(r.status, r.stderr).toBe(0);
    const dir = path.dirname(r.db!);
    const remote = path.join(dir, 'remote.git');
    const repo = path.join(dir, 'greeter');
    const requests = JSON.parse(fs.readFileSync(path.join(dir, 'github-requests.json'), 'utf8')) as { method: string; path: string; body?: { head?: string; merge_method?: string; sha?: string } }[];
    // PR n is the n-th POST …/pulls (the fake numbers them in order): its branch, as pushed to the remote.
    const opened = requests.filter((q) => q.method === 'POST' && q.path === '/repos/demo/greeter/pulls').map((q) => q.body!.head!);
    expect(opened).toHaveLength(7);
    const merges = requests.filter((q) => q.method === 'PUT');
    expect(merges.map((q) => q.path).sort()).toEqual(ALL.map((n) => `/repos/demo/greeter/pulls/${n}/merge`));
    for (const q of merges) {
      const n = Number(/pulls\/(\d+)\/merge/.exec(q.path)![1]);
      expect(q.body).toEqual({ merge_method: 'squash', sha: git(remote, 'rev-parse', `refs/heads/${opened[n - 1]}`) });
    }
    // main: the start, then one single-parent commit per PR, each the squash of its branch.
    const subjects = git(remote, 'log', '--first-parent', '--format=%s', 'main').split('\n');
    expect(subjects).toHaveLength(8);
    expect(subjects.at(-1)).toBe('greeter: the start');
    expect(
      subjects
        .slice(0, 7)
        .map((s) => Number(/\(#(\d+)\)$/.exec(s)?.[1]))
        .sort(),
    ).toEqual(ALL);
    expect(git(remote, 'rev-list', '--min-parents=2', 'main')).toBe('');
    expect(git(remote, 'ls-tree', '-r', '--name-only', 'main').split('\n')).toEqual(
      expect.arrayContaining(['data/greetings.csv', 'data/locales.csv', 'docs/formatting.md', 'data/commands.csv', 'data/translations.csv', 'data/routes.csv', 'docs/usage.md']),
    );
    // The worktrees are gone after the merge, safely: every branch was pushed, nothing uncommitted.
    expect(git(repo, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(git(repo, 'branch', '--list', 'factory/*')).toBe('');
    expect(fs.readdirSync(path.join(repo, '.factory', 'worktrees'))).toEqual([]);
    // The token the server got in its environment is in no file the run left.
    for (const f of ['factory.db', 'github-requests.json']) expect(fs.readFileSync(path.join(dir, f)).toString('latin1')).not.toMatch(/demo-[0-9a-f]{32}/);
    const status = spawnSync(process.execPath, [CLI, 'status', '--db', r.db!, '--json'], { cwd: repo, encoding: 'utf8' });
    expect(JSON.parse(status.stdout).megas[0]).toMatchObject({ key: 'DEMO-2', done: 7, total: 7 });
  });
});
