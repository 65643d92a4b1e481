import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GIT_ENV, makeRepo, type TestRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/server.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

interface Claim {
  claimed: boolean;
  phase?: { mega: string; id: string | number; name: string };
  token?: string;
  branch?: string;
  worktree?: string;
  worktree_error?: string;
  message: string;
}
interface Cleanup {
  branch: string;
  path: string;
  state: 'removed' | 'kept';
  reason?: string;
  dirty?: string[];
  commits?: { sha: string; subject: string }[];
}
interface Done {
  completed?: boolean;
  released?: boolean;
  worktree?: Cleanup;
  next?: Claim;
  message: string;
}

const PLAN = {
  key: 'CAB-1',
  title: 'Login',
  phases: [
    { id: 1, name: 'Add login form' },
    { id: 2, name: 'Session cookie' },
    { id: 3, name: 'Logout' },
    { id: 4, name: 'Audit log', deps: [1, 2, 3] },
  ],
};

/** A repository with a bare repository as its origin (origin/HEAD → main), the database in .factory/. */
function repoWithRemote(): { repo: TestRepo; bare: string } {
  const bare = tempDir('factory-bare-');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare], { env: GIT_ENV });
  const repo = makeRepo();
  repo.commit('app', { 'src/app.ts': 'export const app = 1;\n', 'README.md': '# app\n' });
  repo.git('remote', 'add', 'origin', bare);
  repo.git('push', '-q', '-u', 'origin', 'main');
  repo.git('remote', 'set-head', 'origin', 'main');
  return { repo, bare };
}

describe('a branch and a worktree per claim (real git, bare remote, stdio server)', () => {
  let repo: TestRepo;
  let bare: string;
  let agent: StdioAgent;
  let db: string;
  const wtGit = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' });
  const hasBranch = (b: string) => repo.git('branch', '--list', b).trim() !== '';
  const cli = (...args: string[]) => runCli(['worktrees', ...args], { cwd: repo.dir, env: { ...process.env, FACTORY_DB: db } });
  /** Commits a file in the worktree; returns the short sha. */
  const commitIn = (wt: string, file: string, message: string) => {
    fs.writeFileSync(path.join(wt, file), `${message}\n`);
    wtGit(wt, 'add', '-A');
    wtGit(wt, 'commit', '-q', '-m', message);
    return wtGit(wt, 'rev-parse', '--short', 'HEAD').trim();
  };

  async function start(config: Record<string, unknown> = { phases: { worktrees: true } }): Promise<void> {
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify(config));
    agent = await stdioAgent(db, { cwd: repo.dir });
    await agent.call('plan_mega', PLAN);
  }

  beforeEach(() => {
    ({ repo, bare } = repoWithRemote());
    db = path.join(repo.dir, '.factory', 'factory.db');
  });
  afterEach(async () => {
    await agent?.close();
    repo.remove();
    fs.rmSync(bare, { recursive: true, force: true });
  });

  it('a server started inside a claim worktree shares the main checkout: its database and its kill switch', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const wt = c.worktree as string;
    const inside = await stdioAgent('', { cwd: wt, env: { FACTORY_DB: '' } }); // no --db, no FACTORY_DB: found from the checkout
    try {
      const board = await inside.call<{ megas: { key: string; phases: { id: number; owner?: string | null }[] }[] }>('board', { mega: 'CAB-1' });
      expect(board.megas[0]?.phases.find((p) => p.id === 1)?.owner).toBeTruthy();
      expect(fs.existsSync(path.join(wt, '.factory', 'factory.db'))).toBe(false);
      fs.writeFileSync(path.join(repo.dir, '.factory', 'KILL'), 'stop\n');
      expect(await inside.call('claim_phase', { mega: 'CAB-1', phase: 2 })).toMatchObject({ claimed: false, reason: 'kill_switch' });
      fs.rmSync(path.join(repo.dir, '.factory', 'KILL'));
      expect(await inside.call('claim_phase', { mega: 'CAB-1', phase: 2 })).toMatchObject({ claimed: true });
    } finally {
      await inside.close();
    }
  });

  it('a claim creates factory/<mega>-<phase>-<slug> from origin/HEAD and a worktree under .factory/worktrees, named in the answer', async () => {
    repo.commit('local only, not on origin', { 'local.txt': 'x\n' });
    await start();
    const r = await agent.raw('claim_phase', { mega: 'CAB-1', phase: 1 });
    const c = r.structuredContent as unknown as Claim;
    expect(c.claimed).toBe(true);
    expect(c.branch).toBe('factory/cab-1-1-add-login-form');
    expect(c.worktree).toBe(path.join(fs.realpathSync(repo.dir), '.factory', 'worktrees', 'cab-1-1-add-login-form'));
    const text = (r.content as { text: string }[])[0]?.text ?? '';
    expect(text).toContain(c.worktree as string);
    expect(text).toContain('factory/cab-1-1-add-login-form');
    // checked out on its branch, which starts at origin/HEAD (not at the local commit)
    expect(wtGit(c.worktree as string, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe(c.branch);
    expect(wtGit(c.worktree as string, 'rev-parse', 'HEAD').trim()).toBe(repo.git('rev-parse', 'origin/main').trim());
    expect(fs.existsSync(path.join(c.worktree as string, 'local.txt'))).toBe(false);
    // the main checkout sees nothing of it
    expect(repo.git('status', '--porcelain')).not.toContain('.factory');
  });

  it('without the config key only claim_phase {worktree: true} makes one', async () => {
    await start({});
    const plain = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    expect(plain.branch).toBeUndefined();
    expect(plain.worktree).toBeUndefined();
    const asked = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 2, worktree: true });
    expect(asked.branch).toBe('factory/cab-1-2-session-cookie');
    expect(fs.existsSync(asked.worktree as string)).toBe(true);
  });

  it('release of an untouched worktree removes it and its branch; a re-claim creates it again', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const r = await agent.call<Done>('release_phase', { mega: 'CAB-1', phase: 1, token: c.token, reason: 'later' });
    expect(r.worktree).toMatchObject({ state: 'removed', branch: c.branch });
    expect(fs.existsSync(c.worktree as string)).toBe(false);
    expect(hasBranch(c.branch as string)).toBe(false);
    const again = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    expect(again.worktree).toBe(c.worktree);
    expect(fs.existsSync(again.worktree as string)).toBe(true);
  });

  it('uncommitted changes are never deleted: kept with the files named, and a re-claim reuses the worktree as it is', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    fs.writeFileSync(path.join(c.worktree as string, 'src', 'app.ts'), 'export const app = 2;\n');
    const r = await agent.call<Done>('release_phase', { mega: 'CAB-1', phase: 1, token: c.token, reason: 'handing over' });
    expect(r.released).toBe(true);
    expect(r.worktree).toMatchObject({ state: 'kept', dirty: ['src/app.ts'] });
    expect(r.worktree?.reason).toMatch(/uncommitted changes in 1 file \(src\/app\.ts\)/);
    expect(r.message).toContain(`kept its worktree ${c.worktree}`);
    expect(fs.readFileSync(path.join(c.worktree as string, 'src', 'app.ts'), 'utf8')).toBe('export const app = 2;\n');
    // the next owner gets the same worktree, untouched (never reset)
    const other = await stdioAgent(db, { cwd: repo.dir });
    try {
      const again = await other.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
      expect(again.worktree).toBe(c.worktree);
      expect(again.branch).toBe(c.branch);
      expect(fs.readFileSync(path.join(c.worktree as string, 'src', 'app.ts'), 'utf8')).toBe('export const app = 2;\n');
    } finally {
      await other.close();
    }
  });

  it('untracked files are uncommitted work too', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    fs.mkdirSync(path.join(c.worktree as string, 'notes'));
    fs.writeFileSync(path.join(c.worktree as string, 'notes', 'todo.md'), 'draft\n');
    const r = await agent.call<Done>('complete_phase', { mega: 'CAB-1', phase: 1, token: c.token });
    expect(r.completed).toBe(true);
    expect(r.worktree).toMatchObject({ state: 'kept', dirty: ['notes/todo.md'] });
    expect(fs.existsSync(path.join(c.worktree as string, 'notes', 'todo.md'))).toBe(true);
    expect(hasBranch(c.branch as string)).toBe(true);
  });

  it('unpushed commits are never deleted: the answer names them (short sha and subject); once pushed, the clean-up removes both', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const wt = c.worktree as string;
    const sha = commitIn(wt, 'login.ts', 'Login form');
    const r = await agent.call<Done>('complete_phase', { mega: 'CAB-1', phase: 1, token: c.token });
    expect(r.worktree?.state).toBe('kept');
    expect(r.worktree?.commits).toEqual([{ sha, subject: 'Login form' }]);
    expect(r.worktree?.reason).toContain(`1 commit neither pushed nor merged (${sha} Login form)`);
    expect(r.message).toContain(`${sha} Login form`);
    expect(hasBranch(c.branch as string)).toBe(true);
    // pushed (no -u: git branch -d alone would refuse), then pruned: nothing is lost, so both go
    wtGit(wt, 'push', '-q', 'origin', 'HEAD');
    const p = await cli('--prune', '--json');
    expect(p.exitCode, p.stderr).toBe(0);
    const list = (JSON.parse(p.stdout) as { worktrees: { branch: string; pruned: boolean }[] }).worktrees;
    expect(list).toEqual([expect.objectContaining({ branch: c.branch, pruned: true })]);
    expect(fs.existsSync(wt)).toBe(false);
    expect(hasBranch(c.branch as string)).toBe(false);
    expect(execFileSync('git', ['rev-parse', `refs/heads/${c.branch}`], { cwd: bare, env: GIT_ENV, encoding: 'utf8' }).trim()).toHaveLength(40);
  });

  it('a commit merged into the default branch counts as safe', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const wt = c.worktree as string;
    commitIn(wt, 'login.ts', 'Login');
    repo.git('merge', '-q', '--ff-only', c.branch as string);
    repo.git('push', '-q', 'origin', 'main');
    const r = await agent.call<Done>('complete_phase', { mega: 'CAB-1', phase: 1, token: c.token });
    expect(r.worktree).toMatchObject({ state: 'removed' });
    expect(hasBranch(c.branch as string)).toBe(false);
  });

  it('chaining creates the next worktree; the completed one is cleaned up', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const r = await agent.call<Done>('complete_phase', { mega: 'CAB-1', phase: 1, token: c.token, chain: true });
    expect(r.worktree?.state).toBe('removed');
    expect(r.next).toMatchObject({ claimed: true, branch: 'factory/cab-1-2-session-cookie' });
    expect(fs.existsSync(path.join(r.next?.worktree as string, 'src', 'app.ts'))).toBe(true);
  });

  it('a chained claim after a claim_phase {worktree: true} gets one too, even without the config key', async () => {
    await start({});
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1, worktree: true });
    const r = await agent.call<Done>('complete_phase', { mega: 'CAB-1', phase: 1, token: c.token, chain: true });
    expect(r.next?.branch).toBe('factory/cab-1-2-session-cookie');
  });

  it('worktrees --prune removes only the safe ones and says why it kept the rest', async () => {
    await start();
    const a = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const b = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 2 });
    const d = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 3 });
    // a: released with an unpushed commit (kept), pushed afterwards: now safe
    wtGit(a.worktree as string, 'commit', '-q', '--allow-empty', '-m', 'A work');
    expect((await agent.call<Done>('release_phase', { mega: 'CAB-1', phase: 1, token: a.token, reason: 'x' })).worktree?.state).toBe('kept');
    wtGit(a.worktree as string, 'push', '-q', 'origin', 'HEAD');
    // b: released with an untracked file (kept); d: still claimed
    fs.writeFileSync(path.join(b.worktree as string, 'wip.txt'), 'wip\n');
    expect((await agent.call<Done>('release_phase', { mega: 'CAB-1', phase: 2, token: b.token, reason: 'x' })).worktree?.state).toBe('kept');
    // a hand-made worktree under .factory/worktrees belongs to no phase: listed, never pruned
    repo.git('worktree', 'add', '-q', '-b', 'mine', path.join(repo.dir, '.factory', 'worktrees', 'mine'));
    const listing = await cli();
    expect(listing.exitCode, listing.stderr).toBe(0);
    expect(listing.stdout).toMatch(/factory\/cab-1-1-add-login-form {2}CAB-1\/1 released {2}clean, pushed\n.*\n {2}safe to prune/);
    expect(listing.stdout).toMatch(/factory\/cab-1-2-session-cookie {2}CAB-1\/2 released {2}1 uncommitted, pushed, merged\n.*\n {2}keep: uncommitted changes in 1 file \(wip\.txt\)/);
    expect(listing.stdout).toMatch(/factory\/cab-1-3-logout {2}CAB-1\/3 claimed by t\d+/);
    expect(fs.existsSync(a.worktree as string)).toBe(true);
    const p = await cli('--prune', '--json');
    const out = (JSON.parse(p.stdout) as { worktrees: { branch: string; pruned: boolean; reason: string | null; status: string }[] }).worktrees;
    const by = new Map(out.map((e) => [e.branch, e]));
    expect(by.get(a.branch as string)).toMatchObject({ pruned: true, status: 'released' });
    expect(by.get(b.branch as string)).toMatchObject({ pruned: false, status: 'released', reason: 'uncommitted changes in 1 file (wip.txt)' });
    expect(by.get(d.branch as string)).toMatchObject({ pruned: false, status: 'claimed' });
    expect(by.get(d.branch as string)?.reason).toMatch(/^its phase is claimed by t\d+$/);
    expect(by.get('mine')).toMatchObject({ pruned: false, status: 'unknown' });
    expect(fs.existsSync(a.worktree as string)).toBe(false);
    expect(hasBranch(a.branch as string)).toBe(false);
    expect(fs.existsSync(path.join(b.worktree as string, 'wip.txt'))).toBe(true);
    expect(fs.existsSync(d.worktree as string)).toBe(true);
    expect(hasBranch('mine') && hasBranch(b.branch as string) && hasBranch(d.branch as string)).toBe(true);
  });

  it('a detached HEAD commit in the worktree keeps it', async () => {
    await start();
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    const wt = c.worktree as string;
    wtGit(wt, 'checkout', '-q', '--detach');
    wtGit(wt, 'commit', '-q', '--allow-empty', '-m', 'Detached work');
    const r = await agent.call<Done>('release_phase', { mega: 'CAB-1', phase: 1, token: c.token, reason: 'x' });
    expect(r.worktree?.state).toBe('kept');
    expect(r.worktree?.commits?.map((x) => x.subject)).toEqual(['Detached work']);
  });

  it('a directory in the way: the claim holds and the answer says why there is no worktree; claiming again retries', async () => {
    await start();
    const dir = path.join(repo.dir, '.factory', 'worktrees', 'cab-1-1-add-login-form');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine\n');
    const c = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    expect(c.claimed).toBe(true);
    expect(c.worktree).toBeUndefined();
    expect(c.worktree_error).toMatch(/exists and is not a git worktree/);
    expect(c.message).toMatch(/The claim holds: claim_phase again to retry/);
    expect(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe('mine\n');
    fs.rmSync(dir, { recursive: true });
    const again = await agent.call<Claim>('claim_phase', { mega: 'CAB-1', phase: 1 });
    expect(again.token).toBe(c.token);
    expect(again.worktree).toBe(fs.realpathSync(dir));
  });
});

describe('hostile phase names and ids', () => {
  let repo: TestRepo;
  let agent: StdioAgent;
  afterEach(async () => {
    await agent?.close();
    repo.remove();
  });

  it('cannot leave .factory/worktrees, inject git options or make an invalid ref; two phases never share a branch', async () => {
    repo = makeRepo();
    const db = path.join(repo.dir, '.factory', 'factory.db');
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ phases: { worktrees: true } }));
    agent = await stdioAgent(db, { cwd: repo.dir });
    const hostile = [
      { id: '../../../../tmp/evil', name: '../../escape' },
      { id: '--upload-pack=/tmp/pwned', name: '-b main --force' },
      { id: 'a..b~1^2:c', name: ' .lock spaces ~^:?*[\\ end.lock ' },
      { id: '-', name: '-' },
      { id: 'x', name: 'Ünïcödé ✓ name' },
      { id: 'X', name: 'UNICODE name' },
    ];
    await agent.call('plan_mega', { key: 'A..B', title: 't', phases: hostile });
    const root = fs.realpathSync(repo.dir);
    const branches: string[] = [];
    for (const p of hostile) {
      const c = await agent.call<Claim>('claim_phase', { mega: 'A..B', phase: p.id });
      expect(c.worktree_error).toBeUndefined();
      const b = c.branch as string;
      branches.push(b);
      expect(b).toMatch(/^factory\/[a-z0-9][a-z0-9-]*$/);
      repo.git('check-ref-format', `refs/heads/${b}`);
      expect(path.dirname(c.worktree as string)).toBe(path.join(root, '.factory', 'worktrees'));
      expect(fs.existsSync(c.worktree as string)).toBe(true);
    }
    expect(branches.slice(0, 3)).toEqual(['factory/a-b-tmp-evil-escape', 'factory/a-b-upload-pack-tmp-pwned-b-main-force', 'factory/a-b-a-b-1-2-c-lock-spaces-end-lock']);
    expect(branches[3]).toBe('factory/a-b-phase');
    expect(branches[4]).toBe('factory/a-b-x-unicode-name');
    expect(branches[5]).toBe('factory/a-b-x-unicode-name-2');
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
    expect(repo.git('branch', '--list', 'main').trim()).not.toBe('');
  });
});
