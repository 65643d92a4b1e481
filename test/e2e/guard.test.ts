import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GIT_ENV, makeRepo, type TestRepo } from '../helpers/git.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

/**
 * `factory-mcp guard` as git's pre-commit hook, installed by `factory-mcp init --hooks`, in a real
 * repository in a temp dir: a commit touching another live claim's files is refused (exit 1,
 * naming them) and goes through once the claim ends; the committer's own reservations count as
 * its own only with proof (its CLI session key), never with an instance id it claims.
 */
let repo: TestRepo;
let db: string;
let agents: StdioAgent[] = [];

beforeEach(() => {
  repo = makeRepo();
  db = path.join(repo.dir, '.factory', 'factory.db');
  repo.write({ '.gitignore': '.factory/\n', 'src/api/routes.ts': 'export {};\n', 'src/ui/app.ts': 'export {};\n', 'README.md': '# r\n' });
  repo.commit('files');
  agents = [];
});
afterEach(async () => {
  await Promise.all(agents.map((a) => a.close().catch(() => {})));
  repo.remove();
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...GIT_ENV, FACTORY_LOG: 'silent' };
  delete e.FACTORY_DB;
  delete e.FACTORY_SESSION;
  return { ...e, ...extra };
};

/** `git commit` with the repository's hooks, as a person or an agent runs it. */
function commit(files: Record<string, string>, extra: Record<string, string> = {}): { status: number | null; stderr: string } {
  repo.write(files);
  spawnSync('git', ['add', '-A'], { cwd: repo.dir, env: env(extra) });
  const r = spawnSync('git', ['commit', '-q', '-m', 'change'], { cwd: repo.dir, env: env(extra), encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

async function init(): Promise<string> {
  const r = await runCli(['init', '--hooks'], { cwd: repo.dir, env: env() });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout;
}

async function claimant(files: string[]): Promise<{ a: StdioAgent; instance: string; token: string }> {
  const a = await stdioAgent(db, { cwd: repo.dir, name: 'alpha' });
  agents.push(a);
  const s = await a.call<{ instance: string }>('session_start', { agent: 'alpha-agent' });
  await a.call('plan_mega', { key: 'G-1', title: 'guard', phases: [1, 2].map((id) => ({ id, name: `phase ${id}` })) });
  const c = await a.call<{ claimed: boolean; token: string }>('claim_phase', { mega: 'G-1', phase: 1, files });
  expect(c.claimed).toBe(true);
  return { a, instance: s.instance, token: c.token };
}

describe('factory-mcp guard, the pre-commit hook', () => {
  it('refuses a commit on another claim’s files, naming them, owner and phase; accepts once the claim ends', async () => {
    const out = await init();
    expect(out).toMatch(/installed +\.git\/hooks\/pre-commit: git runs `factory-mcp guard` before each commit/);
    const { a, instance, token } = await claimant(['src/api/**']);
    const head = repo.git('rev-parse', 'HEAD');

    const refused = commit({ 'src/api/routes.ts': 'export const x = 1;\n', 'README.md': '# r2\n' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('this commit touches files another live claim reserved');
    expect(refused.stderr).toContain(`src/api/routes.ts — reserved as "src/api/**" by G-1/1 "phase 1", held by ${instance} (alpha-agent)`);
    expect(refused.stderr).not.toContain('README.md —');
    expect(repo.git('rev-parse', 'HEAD')).toBe(head);

    // Files nobody reserved commit fine.
    spawnSync('git', ['reset', '-q'], { cwd: repo.dir, env: env() });
    spawnSync('git', ['checkout', '-q', '--', 'src/api/routes.ts'], { cwd: repo.dir, env: env() });
    expect(commit({ 'src/ui/app.ts': 'export const y = 2;\n' }).status).toBe(0);

    // An instance id in the environment proves nothing; a made-up session key neither.
    const claims: Record<string, string>[] = [{ FACTORY_INSTANCE: instance, FACTORY_OWNER: instance }, { FACTORY_SESSION: `fs_${'A'.repeat(43)}` }, { FACTORY_SESSION: instance }];
    for (const extra of claims) {
      expect(commit({ 'src/api/routes.ts': 'export const z = 3;\n' }, extra).status).toBe(1);
    }
    // `git commit PATH` commits from a temporary index (GIT_INDEX_FILE): the guard reads that one.
    spawnSync('git', ['reset', '-q'], { cwd: repo.dir, env: env() });
    const byPath = spawnSync('git', ['commit', '-q', '-m', 'by path', '--', 'src/api/routes.ts'], { cwd: repo.dir, env: env(), encoding: 'utf8' });
    expect(byPath.status).toBe(1);
    expect(byPath.stderr).toContain('src/api/routes.ts — reserved as');
    // Pointing FACTORY_DB at an empty database does not hide the repository's own.
    expect(commit({ 'src/api/routes.ts': 'export const z = 3;\n' }, { FACTORY_DB: path.join(repo.dir, 'nothing.db') }).status).toBe(1);

    // The claim ends: the same commit goes through.
    await a.call('complete_phase', { mega: 'G-1', phase: 1, token });
    const ok = commit({ 'src/api/routes.ts': 'export const z = 3;\n' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(repo.git('log', '-1', '--name-only', '--format=')).toContain('src/api/routes.ts');
  });

  it('a CLI session commits its own reserved files with its key; another session cannot', async () => {
    await init();
    const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: repo.dir, env: env(extra) });
    const start = await cli(['session', 'start', '--agent', 'shell-agent']);
    const key = /export FACTORY_SESSION=(fs_[A-Za-z0-9_-]{43})/.exec(start.stdout)?.[1] as string;
    expect(key).toBeDefined();
    const plan = { key: 'G-2', title: 'cli', phases: [{ id: 1, name: 'one' }] };
    fs.writeFileSync(path.join(repo.dir, '.factory', 'plan.json'), JSON.stringify(plan));
    expect((await cli(['plan', '.factory/plan.json'], { FACTORY_SESSION: key })).exitCode).toBe(0);
    const claim = await cli(['claim', 'G-2', '--phase', '1', '--files', 'src/ui/**', '--json'], { FACTORY_SESSION: key });
    expect(claim.exitCode, claim.stderr).toBe(0);
    expect(JSON.parse(claim.stdout)).toMatchObject({ claimed: true, files: ['src/ui/**'] });

    expect(commit({ 'src/ui/app.ts': 'export const mine = 1;\n' }).status).toBe(1); // no proof: everyone's reservations apply
    const other = await cli(['session', 'start', '--agent', 'intruder']);
    const otherKey = /export FACTORY_SESSION=(fs_[A-Za-z0-9_-]{43})/.exec(other.stdout)?.[1] as string;
    expect(commit({ 'src/ui/app.ts': 'export const mine = 1;\n' }, { FACTORY_SESSION: otherKey }).status).toBe(1);
    const mine = commit({ 'src/ui/app.ts': 'export const mine = 1;\n' }, { FACTORY_SESSION: key });
    expect(mine.status, mine.stderr).toBe(0);
  });

  it('an MCP agent commits its own reserved files in its claim worktree; the same commit in the main checkout is refused', async () => {
    await init();
    const a = await stdioAgent(db, { cwd: repo.dir, name: 'alpha' });
    agents.push(a);
    await a.call('plan_mega', { key: 'G-3', title: 'worktree', phases: [{ id: 1, name: 'ui' }] });
    const c = await a.call<{ claimed: boolean; worktree: string }>('claim_phase', { mega: 'G-3', phase: 1, files: ['src/ui/**'], worktree: true });
    expect(c.claimed).toBe(true);
    const inWorktree = (cwd: string) => {
      fs.writeFileSync(path.join(cwd, 'src', 'ui', 'app.ts'), `export const at = ${JSON.stringify(cwd)};\n`);
      spawnSync('git', ['add', '-A'], { cwd, env: env() });
      return spawnSync('git', ['commit', '-q', '-m', 'ui'], { cwd, env: env(), encoding: 'utf8' });
    };
    const main = inWorktree(repo.dir);
    expect(main.status).toBe(1); // the main checkout is nobody's claim: the reservation applies
    expect(main.stderr).toContain('src/ui/app.ts — reserved as "src/ui/**" by G-3/1');
    spawnSync('git', ['reset', '-q', '--hard'], { cwd: repo.dir, env: env() });
    const own = inWorktree(c.worktree);
    expect(own.status, own.stderr).toBe(0);
  });

  it('init --hooks keeps an existing hook, runs it first (its failure still blocks), and is idempotent', async () => {
    const hooks = path.join(repo.dir, '.git', 'hooks');
    fs.mkdirSync(hooks, { recursive: true });
    const mine = '#!/bin/sh\nif [ -e "$(git rev-parse --show-toplevel)/BLOCK" ]; then echo "my hook says no" >&2; exit 3; fi\n';
    fs.writeFileSync(path.join(hooks, 'pre-commit'), mine, { mode: 0o755 });
    const out = await init();
    expect(out).toContain('kept     .git/hooks/pre-commit.factory-chained: your previous pre-commit hook, run first');
    expect(fs.readFileSync(path.join(hooks, 'pre-commit.factory-chained'), 'utf8')).toBe(mine);
    const installed = fs.readFileSync(path.join(hooks, 'pre-commit'), 'utf8');

    const blocked = commit({ BLOCK: 'x', 'README.md': '# blocked\n' });
    expect(blocked.status).toBe(1);
    expect(blocked.stderr).toContain('my hook says no');
    fs.rmSync(path.join(repo.dir, 'BLOCK'));
    spawnSync('git', ['rm', '-q', '--cached', 'BLOCK'], { cwd: repo.dir, env: env() });

    // The guard still runs after the kept hook passes.
    await claimant(['README.md']);
    expect(commit({ 'README.md': '# again\n' }).status).toBe(1);

    const again = await init();
    expect(again).toContain('current  .git/hooks/pre-commit (the factory-mcp guard hook is already installed)');
    expect(fs.readFileSync(path.join(hooks, 'pre-commit'), 'utf8')).toBe(installed);
    expect(fs.readFileSync(path.join(hooks, 'pre-commit.factory-chained'), 'utf8')).toBe(mine);
  });

  it('respects core.hooksPath, and exits 0 quietly in a repository without a factory database', async () => {
    repo.git('config', 'core.hooksPath', '.githooks');
    await init();
    expect(fs.existsSync(path.join(repo.dir, '.githooks', 'pre-commit'))).toBe(true);
    expect(fs.existsSync(path.join(repo.dir, '.git', 'hooks', 'pre-commit'))).toBe(false);
    const r = await runCli(['guard'], { cwd: repo.dir, env: env() });
    expect(r).toMatchObject({ exitCode: 0, stderr: '', stdout: '' });
    expect(commit({ 'src/api/routes.ts': 'export const q = 1;\n' }).status).toBe(0);
  });
});
