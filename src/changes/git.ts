import fs from 'node:fs';
import path from 'node:path';
import { git, gitStream, GitError, noFilterEnv } from '../integrations/git.js';
import { InputError } from '../core/errors.js';
import { DiffStream } from './diff.js';
import type { ChangedFile } from './rules.js';

export interface GitChanges {
  files: ChangedFile[];
  /** The commit compared from (resolved). */
  base: string;
  /** The commit compared to, or null for the working tree (uncommitted and untracked files included). */
  head: string | null;
}

/** The one diff run: zero context, no user diff drivers or colours, stable a/ b/ prefixes, renames found. */
export const DIFF_ARGS = [
  '-c',
  'core.quotePath=false',
  'diff',
  '-p',
  '-U0',
  '-M',
  '--no-indent-heuristic',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '--inter-hunk-context=0',
];
const MAX_UNTRACKED = 20_000;
const FULL_SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const MAX_READ = 4 * 1024 * 1024;

/** The repository's top directory for `cwd`; an InputError naming `cwd` when it is not in a repository. */
export async function gitTopLevel(cwd: string): Promise<string> {
  try {
    return (await git(cwd, ['rev-parse', '--show-toplevel'])).trim();
  } catch (e) {
    throw new InputError('cwd', `${cwd} is not inside a git repository (${(e as Error).message})`);
  }
}

/** The default branch to measure from: origin/HEAD, else main, else master; null when none exists. */
export async function defaultBranch(cwd: string): Promise<string | null> {
  const refs = (await git(cwd, ['for-each-ref', '--format=%(refname)', 'refs/remotes/origin/HEAD', 'refs/heads/main', 'refs/heads/master', 'refs/remotes/origin/main', 'refs/remotes/origin/master']))
    .split('\n')
    .filter(Boolean);
  for (const want of ['refs/remotes/origin/HEAD', 'refs/heads/main', 'refs/heads/master', 'refs/remotes/origin/main', 'refs/remotes/origin/master']) {
    if (refs.includes(want)) return want;
  }
  return null;
}

async function resolveCommit(cwd: string, rev: string, field: 'base' | 'head'): Promise<string> {
  try {
    return (await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`])).trim();
  } catch {
    throw new InputError(field, `no commit ${JSON.stringify(rev)} in this repository`);
  }
}

/**
 * The changes between `base` (default: the merge base with the default branch) and `head`
 * (default: the working tree, with uncommitted and untracked files). One `git diff` process
 * gives status, modes, paths and the changed lines (counted for the stats), parsed as it streams; it runs beside the one that
 * resolves the range, and untracked files are read directly. `onFile` sees each file as soon
 * as it is complete, so classifying overlaps with git's work.
 */
export async function gitChanges(cwd: string, opts: { base?: string | undefined; head?: string | undefined } = {}, onFile?: (f: ChangedFile) => void): Promise<GitChanges> {
  try {
    let base = opts.base;
    if (base === undefined) {
      const def = await defaultBranch(cwd);
      if (!def) throw new InputError('base', 'no default branch (origin/HEAD, main or master) to measure from: pass base');
      base = (
        await git(cwd, ['merge-base', opts.head === undefined ? 'HEAD' : `${opts.head}^{commit}`, def]).catch(async () => {
          if (opts.head !== undefined) await resolveCommit(cwd, opts.head, 'head');
          throw new InputError('base', `no merge base between ${opts.head ?? 'HEAD'} and ${def}: pass base`);
        })
      ).trim();
    }
    const revs = opts.head === undefined ? [base] : [base, opts.head];
    const parser = new DiffStream(onFile);
    // Against the working tree git reads file contents: without the repository's clean filters.
    const setEnv = opts.head === undefined ? await noFilterEnv(cwd) : {};
    const [resolved, , untracked] = await Promise.all([
      // Full commit ids need no lookup (the diff fails if they do not exist); names do. Revs never start with '-' (checked by the caller).
      revs.every((r) => FULL_SHA.test(r)) ? Promise.resolve(revs.join('\n')) : git(cwd, ['rev-parse', ...revs.map((r) => `${r}^{commit}`)]),
      gitStream(cwd, [...DIFF_ARGS, '--end-of-options', ...revs, '--'], (chunk) => parser.push(chunk), { setEnv }),
      opts.head === undefined ? untrackedFiles(cwd) : Promise.resolve([]),
    ]);
    const [baseSha, headSha] = resolved.trim().split('\n').slice(-revs.length);
    const files = parser.end();
    for (const f of untracked) {
      files.push(f);
      onFile?.(f);
    }
    return { files, base: baseSha as string, head: opts.head === undefined ? null : (headSha ?? null) };
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    // Say which input is wrong: not a repository, or which end of the range.
    await gitTopLevel(cwd);
    if (opts.base !== undefined) await resolveCommit(cwd, opts.base, 'base');
    if (opts.head !== undefined) await resolveCommit(cwd, opts.head, 'head');
    throw e;
  }
}

/** Untracked, not ignored files, as added files with their lines. */
async function untrackedFiles(cwd: string): Promise<ChangedFile[]> {
  const top = await gitTopLevel(cwd);
  const list = (await git(top, ['ls-files', '-z', '--others', '--exclude-standard'])).split('\0').filter(Boolean).slice(0, MAX_UNTRACKED);
  const out: ChangedFile[] = [];
  for (const rel of list) {
    const abs = path.join(top, rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch {
      continue; // removed meanwhile
    }
    if (st.isSymbolicLink()) {
      out.push({ path: rel, status: 'added', additions: 1, deletions: 0, binary: false, symlink: true, added: [fs.readlinkSync(abs)], removed: [] });
      continue;
    }
    if (!st.isFile()) continue;
    if (readHead(abs, Math.min(st.size, 8000)).includes(0)) {
      out.push({ path: rel, status: 'added', additions: 0, deletions: 0, binary: true, symlink: false, added: [], removed: [] });
      continue;
    }
    const buf = readHead(abs, Math.min(st.size, MAX_READ));
    const lines = buf.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    out.push({ path: rel, status: 'added', additions: lines.length, deletions: 0, binary: false, symlink: false, added: lines, removed: [] });
  }
  return out;
}

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
