import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { git } from './git.js';

/** The checkouts of the server's repository: its root and its worktrees, as `git worktree list` (run from `root`) reports them. */
async function checkouts(root: string): Promise<string[]> {
  let out: string;
  try {
    out = await git(root, ['worktree', 'list', '--porcelain', '-z']);
  } catch {
    throw new InputError('cwd', `the server root ${root} is not inside a git repository: start the server in the repository`);
  }
  const dirs: string[] = [];
  for (const field of out.split('\0')) {
    if (!field.startsWith('worktree ')) continue;
    try {
      dirs.push(fs.realpathSync(field.slice('worktree '.length)));
    } catch {
      // a worktree whose directory is gone (prunable)
    }
  }
  return dirs;
}

/**
 * Where a tool given `cwd` may work: the repository root or one of its worktrees (or a directory
 * inside one that is not itself another repository). Anything else — a directory outside holding a
 * `.git` file that points at the repository, a nested repository — is an InputError naming `cwd`.
 * Returns the checkout's top directory and `cwd` resolved (symlinks followed).
 */
export async function checkoutOf(root: string, cwd: string | undefined): Promise<{ top: string; dir: string }> {
  const abs = path.resolve(root, cwd ?? '.');
  let dir: string;
  try {
    dir = fs.realpathSync(abs);
  } catch {
    throw new InputError('cwd', `${abs} does not exist`);
  }
  const inside = (p: string, top: string) => p === top || p.startsWith(top.endsWith(path.sep) ? top : top + path.sep);
  const top = (await checkouts(root)).filter((t) => inside(dir, t)).sort((a, b) => b.length - a.length)[0];
  if (top === undefined) throw new InputError('cwd', `${abs} is outside the repository ${root} and not one of its worktrees (git worktree list)`);
  // No .git between the checkout and cwd: a nested repository (or a planted .git file) is not this one.
  for (let d = dir; d !== top; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) throw new InputError('cwd', `${abs} is inside another repository (${d}), not the repository ${root} or one of its worktrees`);
  }
  return { top, dir };
}
