import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { harness, tempDir, testEnv } from '../helpers/server.js';
import { GIT_ENV, makeRepo } from '../helpers/git.js';
import { FakeGitHubRemote } from '../fakes/github-remote.js';

// The fake GitHub backed by a real bare repository: its squash-merge moves the remote's main, as
// GitHub's does. The chained claim's worktree must start from that main, not the stale local copy.
it("merge_phase {chain}: the chained claim's worktree starts from a main that holds the commit just merged", async () => {
  const bare = tempDir('factory-bare-');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare], { env: GIT_ENV });
  const repo = makeRepo();
  repo.commit('app', { 'src/app.ts': 'export const a = 1;\n' });
  repo.git('remote', 'add', 'origin', bare);
  repo.git('push', '-q', '-u', 'origin', 'main');
  repo.git('remote', 'set-head', 'origin', 'main');
  const gh = await new FakeGitHubRemote(bare).start();
  const h = await harness({ config: { github: { owner: 'acme', repo: 'app' }, phases: { worktrees: true } }, env: testEnv(gh.env()) });
  try {
    const a = await h.connect({ root: repo.dir });
    await a.call('plan_mega', {
      key: 'M',
      title: 'chain',
      phases: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two', deps: [1] },
      ],
    });
    const c = await a.call<{ token: string; worktree: string; branch: string }>('claim_phase', { mega: 'M', phase: 1 });
    const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(c.worktree, 'README.md'), '# one\n');
    git(c.worktree, 'add', '-A');
    git(c.worktree, 'commit', '-q', '-m', 'one');
    git(c.worktree, 'push', '-q', 'origin', c.branch);
    const head = git(c.worktree, 'rev-parse', 'HEAD');
    const opened = await fetch(`${gh.url}/repos/acme/app/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${gh.acceptedToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'one', head: c.branch, base: 'main' }),
    });
    expect(opened.status).toBe(201);
    const owner = ((await h.store.sql.prepare("SELECT owner FROM phases WHERE mega = 'M' AND id = '1'").get()) as { owner: string }).owner;
    const tree = git(c.worktree, 'rev-parse', 'HEAD^{tree}');
    await h.store.tx(() => h.store.dod.record(h.clock.now, { instance: owner, mega: 'M', phase: '1', tree, base: null, passed: true, partial: false, score: '10/10', cached: false, checks: [] }));
    expect(await a.call('classify_change', { mega: 'M', phase: 1, token: c.token, cwd: c.worktree, head })).toMatchObject({ level: 'ship' });

    const m = await a.call<{ merged: boolean; merge_commit: string; next?: { claimed: boolean; worktree?: string } }>('merge_phase', { mega: 'M', phase: 1, token: c.token, chain: true });
    expect(m).toMatchObject({ merged: true, next: { claimed: true } });
    expect(gh.squashes.map((s) => s.commit)).toEqual([m.merge_commit]);
    const next = m.next?.worktree as string;
    expect(fs.readFileSync(path.join(next, 'README.md'), 'utf8')).toBe('# one\n');
    expect(git(next, 'merge-base', '--is-ancestor', m.merge_commit, 'HEAD')).toBe('');
  } finally {
    await h.close();
    await gh.stop();
    repo.remove();
    fs.rmSync(bare, { recursive: true, force: true });
  }
});
