import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git, noFilterEnv } from '../integrations/git.js';

/**
 * The hash of the working tree as it is now, uncommitted and untracked (not ignored) files
 * included: a copy of the index, `git add -A` into it, `git write-tree`. The real index is
 * never touched. Copying the index keeps git's stat cache, so an unchanged tree costs little.
 * No clean filter of the repository runs (the content is hashed as it is on disk).
 */
export async function workingTreeHash(root: string): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-dod-index-'));
  const index = path.join(tmp, 'index');
  try {
    const real = indexPath(root) ?? path.resolve(root, (await git(root, ['rev-parse', '--git-path', 'index'])).trim());
    if (fs.existsSync(real)) fs.copyFileSync(real, index);
    const setEnv = { ...(await noFilterEnv(root)), GIT_INDEX_FILE: index };
    await git(root, ['add', '-A'], { setEnv });
    return (await git(root, ['write-tree'], { setEnv })).trim();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The index file of a checkout without spawning git: .git/index, or <gitdir>/index in a worktree. */
function indexPath(root: string): string | null {
  const dotgit = path.join(root, '.git');
  try {
    if (fs.statSync(dotgit).isDirectory()) return path.join(dotgit, 'index');
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotgit, 'utf8'));
    return m ? path.join(path.resolve(root, (m[1] as string).trim()), 'index') : null;
  } catch {
    return null;
  }
}

async function verify(root: string, ref: string): Promise<string | null> {
  try {
    return (await git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || null;
  } catch {
    return null;
  }
}

/** The default branch: the configured one, else origin/HEAD, main, master (local or origin/); one git call. */
export async function defaultBranch(root: string, configured: string | undefined): Promise<string | null> {
  if (configured) return (await verify(root, configured)) ? configured : null;
  const candidates = ['refs/remotes/origin/HEAD', 'refs/heads/main', 'refs/heads/master', 'refs/remotes/origin/main', 'refs/remotes/origin/master'];
  const out = await git(root, ['for-each-ref', '--format=%(refname) %(symref)', ...candidates]).catch(() => '');
  const found = new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
  for (const c of candidates) {
    if (!found.has(c)) continue;
    const target = c.endsWith('/HEAD') ? found.get(c) : c;
    if (target) return target.replace(/^refs\/(heads|remotes)\//, '');
  }
  return null;
}

/** The commit the change is measured against: merge-base of HEAD and the default branch. */
export async function baseCommit(root: string, branch: string): Promise<string> {
  return (await git(root, ['merge-base', 'HEAD', branch])).trim();
}

/** HEAD's commit and its tree (null outside a commit). */
export async function headCommit(root: string): Promise<{ commit: string; tree: string } | null> {
  try {
    const [commit, tree] = (await git(root, ['rev-parse', 'HEAD', 'HEAD^{tree}'])).trim().split('\n');
    return commit && tree ? { commit, tree } : null;
  } catch {
    return null;
  }
}

export async function currentBranch(root: string): Promise<string | null> {
  try {
    const b = (await git(root, ['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
    return b && b !== 'HEAD' ? b : null;
  } catch {
    return null;
  }
}

/** The change from `base` to the working tree `tree`, as `git diff -U0` text (renames followed). */
export async function diffText(root: string, base: string, tree: string): Promise<string> {
  return git(root, ['diff', '-U0', '--no-color', '--no-ext-diff', '--no-textconv', '-M', base, tree]);
}

export async function changedFiles(root: string, base: string, tree: string): Promise<string[]> {
  return (await git(root, ['diff', '--name-only', '--no-renames', '--no-ext-diff', '--no-textconv', base, tree])).split('\n').filter(Boolean);
}

/**
 * A detached worktree of `commit` in a temp dir, for baselines; node_modules of the repository
 * linked in so that its commands find their tools. Removed by `dispose`.
 */
export async function tempWorktree(root: string, commit: string): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-dod-base-'));
  // No hooks (GIT_HARDEN). Smudge filters do run (an LFS checkout needs them to be the real baseline),
  // with the allow-listed environment like the repository's own commands that run in it next.
  await git(root, ['worktree', 'add', '--detach', '--force', dir, commit]);
  const nm = path.join(root, 'node_modules');
  if (fs.existsSync(nm) && !fs.existsSync(path.join(dir, 'node_modules'))) fs.symlinkSync(nm, path.join(dir, 'node_modules'), 'dir');
  return {
    dir,
    async dispose() {
      try {
        await git(root, ['worktree', 'remove', '--force', dir]);
      } catch {
        fs.rmSync(dir, { recursive: true, force: true });
        await git(root, ['worktree', 'prune']).catch(() => '');
      }
    },
  };
}
