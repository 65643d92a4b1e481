import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBranch, tempWorktree, workingTreeHash } from '../../src/dod/repo.js';
import { sh, write } from '../../bench/dod-sample.js';
import { tempDir } from '../helpers/server.js';

describe('DoD repository helpers on a real git repository', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.realpathSync(tempDir('factory-dod-repo-'));
    sh(dir, 'init', '-q', '-b', 'trunk');
    write(dir, { '.gitignore': 'ignored.txt\n', 'a.txt': 'a\n' });
    sh(dir, 'add', '-A');
    sh(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'a');
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hashes the working tree with untracked files, not ignored ones, and leaves the real index alone', async () => {
    const clean = await workingTreeHash(dir);
    expect(clean).toBe(sh(dir, 'rev-parse', 'HEAD^{tree}').trim());
    write(dir, { 'ignored.txt': 'x' });
    expect(await workingTreeHash(dir)).toBe(clean);
    write(dir, { 'new.txt': 'n\n' });
    const dirty = await workingTreeHash(dir);
    expect(dirty).not.toBe(clean);
    expect(sh(dir, 'status', '--porcelain')).toContain('?? new.txt'); // still untracked: the real index is untouched
    fs.rmSync(path.join(dir, 'new.txt'));
    expect(await workingTreeHash(dir)).toBe(clean);
  });

  it('finds the default branch from origin/HEAD, else main/master, else none; honours the config', async () => {
    expect(await defaultBranch(dir, undefined)).toBeNull();
    sh(dir, 'update-ref', 'refs/remotes/origin/trunk', 'HEAD');
    sh(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/trunk');
    expect(await defaultBranch(dir, undefined)).toBe('origin/trunk');
    expect(await defaultBranch(dir, 'trunk')).toBe('trunk');
    expect(await defaultBranch(dir, 'nope')).toBeNull();
  });

  it('makes and removes a temporary worktree of a commit', async () => {
    const wt = await tempWorktree(dir, 'HEAD');
    expect(fs.readFileSync(path.join(wt.dir, 'a.txt'), 'utf8')).toBe('a\n');
    await wt.dispose();
    expect(fs.existsSync(wt.dir)).toBe(false);
    expect(sh(dir, 'worktree', 'list')).not.toContain(wt.dir);
  });
});
