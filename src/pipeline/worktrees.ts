/**
 * A branch and a git worktree per claim (issue 15): created after a claim (never inside its write
 * transaction: git is slow), reused on a re-claim, and deleted after complete_phase or
 * release_phase only when that loses nothing. docs/pipeline.md, "Worktrees".
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { ensureFactoryGitignore } from '../core/db.js';
import type { Sql } from '../core/sql.js';
import { mainCheckout } from '../core/config.js';
import type { ServiceContext } from '../core/context.js';
import { phaseKey } from '../core/ids.js';
import { git, GitError, noFilterEnv } from '../integrations/git.js';
import { WORKTREES_DIR, branchName, keepReason, logCommits, statusPaths, worktreeDirName, type CleanupFacts, type Commit } from './worktrees-domain.js';
import type { WorktreeCleanupSchema, WorktreeEntrySchema } from '../../schemas/worktrees.js';
import type { ClaimResult, CompleteResult } from '../phases/service.js';

export type WorktreeCleanup = z.output<typeof WorktreeCleanupSchema>;
export type WorktreeEntry = z.output<typeof WorktreeEntrySchema>;
type Ctx = Pick<ServiceContext, 'store' | 'config' | 'root' | 'clock'>;

interface Row {
  mega: string;
  phase: string;
  branch: string;
  created_at: number;
}
interface PhaseState {
  owner: string | null;
  completed_at: number | null;
}

/** The SQL of the worktrees table: which branch each phase got (kept until the branch is deleted). */
class WorktreesStore {
  readonly q;
  constructor(sql: Sql) {
    this.q = {
      get: sql.prepare<[string, string], Row>('SELECT * FROM worktrees WHERE mega = ? AND phase = ?'),
      byBranch: sql.prepare<[string], Row>('SELECT * FROM worktrees WHERE branch = ?'),
      all: sql.prepare<[], Row>('SELECT * FROM worktrees ORDER BY created_at, branch'),
      insert: sql.prepare<[string, string, string, number]>('INSERT INTO worktrees (mega, phase, branch, created_at) VALUES (?, ?, ?, ?)'),
      remove: sql.prepare<[string, string]>('DELETE FROM worktrees WHERE branch = ? AND mega = ?'),
      phase: sql.prepare<[string, string], PhaseState>('SELECT owner, completed_at FROM phases WHERE mega = ? AND id = ?'),
    };
  }
}
const stores = new WeakMap<Sql, WorktreesStore>();
function rows(ctx: Pick<Ctx, 'store'>): WorktreesStore['q'] {
  let s = stores.get(ctx.store.sql);
  if (!s) stores.set(ctx.store.sql, (s = new WorktreesStore(ctx.store.sql)));
  return s.q;
}

/**
 * The owner of the live claim whose worktree is the checkout `top` (absolute), or null: a commit
 * made there is that owner's (the pre-commit guard, src/pipeline/guard.ts). The directory is
 * derived from the stored branch, never taken from the environment.
 */
export async function worktreeOwner(store: Pick<Ctx, 'store'>['store'], main: string, top: string): Promise<string | null> {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const here = real(top);
  const q = rows({ store });
  for (const r of await q.all.all()) {
    if (real(worktreePath(main, r.branch)) !== here) continue;
    return (await q.phase.get(r.mega, r.phase))?.owner ?? null;
  }
  return null;
}

/** The absolute directory of a branch's worktree. */
export function worktreePath(main: string, branch: string): string {
  return path.join(main, ...WORKTREES_DIR, worktreeDirName(branch));
}

/** The worktree's own git directory (from its `.git` file), or null when `dir` is no linked worktree. */
function worktreeGitDir(dir: string): string | null {
  try {
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(path.join(dir, '.git'), 'utf8'));
    return m ? path.resolve(dir, (m[1] as string).trim()) : null;
  } catch {
    return null;
  }
}

/** The branch a phase has, or a new name for it (reserved in the table, so two phases never share one). */
async function reserve(ctx: Ctx, mega: string, phase: string, name: string): Promise<Row> {
  const q = rows(ctx);
  const have = await q.get.get(mega, phase);
  if (have) return have;
  return ctx.store.tx(async () => {
    const again = await q.get.get(mega, phase);
    if (again) return again;
    for (let n = 1; ; n++) {
      const branch = branchName(mega, phase, name, n);
      if (await q.byBranch.get(branch)) continue;
      const now = ctx.clock();
      await q.insert.run(mega, phase, branch, now);
      return { mega, phase, branch, created_at: now };
    }
  });
}

/** `refs/remotes/origin/HEAD` when the origin remote has a default branch, else the main checkout's HEAD. */
function defaultBase(refs: Set<string>): string {
  return refs.has('refs/remotes/origin/HEAD') ? 'refs/remotes/origin/HEAD' : 'HEAD';
}

/** The refs among `names` that exist, as a set of full ref names. */
async function existingRefs(main: string, names: readonly string[]): Promise<Map<string, string>> {
  const out = await git(main, ['for-each-ref', '--format=%(refname)%00%(objectname)', ...names]);
  const found = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [ref, sha] = line.split('\0');
    if (ref && sha) found.set(ref, sha);
  }
  return found;
}

/**
 * Makes sure the branch and its worktree exist: an existing worktree is reused as it is, an
 * existing branch is checked out in a new worktree, otherwise the branch is created from the
 * default branch (never reset, never forced). Every argument is ours ([a-z0-9-] names, absolute
 * paths): nothing from the caller reaches git's command line.
 */
async function ensureWorktree(main: string, branch: string, dir: string): Promise<void> {
  if (worktreeGitDir(dir) !== null) return;
  if (fs.existsSync(dir)) throw new Error(`${dir} exists and is not a git worktree; move it away and claim again`);
  // .factory/ never shows in the main checkout's git status, wherever the database lives.
  const factoryDir = path.join(main, WORKTREES_DIR[0]);
  fs.mkdirSync(factoryDir, { recursive: true });
  ensureFactoryGitignore(factoryDir);
  const [refs, setEnv] = await Promise.all([existingRefs(main, [`refs/heads/${branch}`, 'refs/remotes/origin/HEAD']), noFilterEnv(main)]);
  const args = refs.has(`refs/heads/${branch}`) ? ['worktree', 'add', dir, branch] : ['worktree', 'add', '--no-track', '-b', branch, dir, defaultBase(new Set(refs.keys()))];
  try {
    await git(main, args, { setEnv });
  } catch (e) {
    // A worktree registered at that path whose directory was deleted: drop the stale registration, once.
    const listed = await git(main, ['worktree', 'list', '--porcelain', '-z']).catch(() => '');
    if (!listed.split('\0').includes(`worktree ${dir}`) || fs.existsSync(dir)) throw e;
    await git(main, ['worktree', 'prune']);
    await git(main, ['worktree', 'add', dir, branch], { setEnv }).catch(() => git(main, args, { setEnv }));
  }
}

function errorText(e: unknown): string {
  return e instanceof GitError ? e.message : e instanceof Error ? e.message : String(e);
}

/**
 * After a successful claim (the transaction has committed): the phase's branch and worktree, set
 * on the answer as `branch` and `worktree` and named in its message. When git fails the claim is
 * kept and the answer says why in `worktree_error`; claiming the phase again (the owner's re-claim
 * refreshes the lease) retries.
 */
export async function attachWorktree(ctx: Ctx, r: ClaimResult): Promise<ClaimResult> {
  if (!r.claimed || !r.phase) return r;
  const main = mainCheckout(ctx.root);
  let row: Row | null = null;
  try {
    row = await reserve(ctx, r.phase.mega, phaseKey(r.phase.id), r.phase.name);
    const dir = worktreePath(main, row.branch);
    await ensureWorktree(main, row.branch, dir);
    r.branch = row.branch;
    r.worktree = dir;
    r.message += `; work in the worktree ${dir} (branch ${row.branch})`;
  } catch (e) {
    r.worktree_error = errorText(e);
    if (row) r.branch = row.branch;
    r.message += `; no worktree: ${r.worktree_error}. The claim holds: claim_phase again to retry`;
  }
  return r;
}

/** Whether a claim gets a worktree: the tool's `worktree` input, else the config's phases.worktrees. */
export function wantsWorktree(ctx: Pick<Ctx, 'config'>, asked: boolean | undefined): boolean {
  return asked ?? ctx.config.phases.worktrees;
}

/** Whether the phase has a branch of ours (so its chained successor gets one too). */
export async function hasWorktree(ctx: Pick<Ctx, 'store'>, mega: string, phase: string | number): Promise<boolean> {
  return (await rows(ctx).get.get(mega, phaseKey(phase))) !== undefined;
}

interface Inspection {
  facts: CleanupFacts;
  exists: boolean;
  tip: string | null;
  merged: boolean;
}

const MAX_LISTED = 20;

/** Everything clean-up decides on: the worktree's uncommitted paths, the commits that are neither pushed nor merged, and who claims the phase. */
async function inspect(ctx: Ctx, main: string, row: Row, dir: string): Promise<Inspection> {
  const gitdir = worktreeGitDir(dir);
  const exists = gitdir !== null && fs.existsSync(dir);
  const setEnv = await noFilterEnv(main);
  const [status, refs] = await Promise.all([
    exists ? git(dir, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=none'], { setEnv }) : Promise.resolve(''),
    existingRefs(main, [`refs/heads/${row.branch}`, 'refs/remotes/origin/HEAD']),
  ]);
  const tip = refs.get(`refs/heads/${row.branch}`) ?? null;
  const base = defaultBase(new Set(refs.keys()));
  // A detached HEAD in the worktree holds commits no branch may have: they count too.
  let head: string | null = null;
  if (gitdir) {
    try {
      const h = fs.readFileSync(path.join(gitdir, 'HEAD'), 'utf8').trim();
      if (/^[0-9a-f]{40,64}$/.test(h)) head = h;
    } catch {
      // no HEAD: nothing detached
    }
  }
  const tips = [...(tip ? [tip] : []), ...(head && head !== tip ? [head] : [])];
  let unpushed: Commit[] = [];
  let merged = false;
  if (tips.length) {
    unpushed = logCommits(await git(main, ['log', `-n${MAX_LISTED + 1}`, '--format=%h%x00%s%x00', ...tips, '--not', '--remotes', base]));
    merged =
      tip !== null &&
      (await git(main, ['merge-base', '--is-ancestor', tip, base]).then(
        () => true,
        () => false,
      ));
  }
  const phase = await rows(ctx).phase.get(row.mega, row.phase);
  const facts: CleanupFacts = {
    claimedBy: phase?.owner ?? null,
    dirty: statusPaths(status),
    unpushed: unpushed.slice(0, MAX_LISTED),
    moreUnpushed: unpushed.length > MAX_LISTED,
  };
  return { facts, exists, tip, merged };
}

/**
 * Deletes the worktree and then the branch — `git worktree remove` without --force (git itself
 * refuses a tree that changed since the look) and `git branch -d`. When -d refuses only because
 * the branch is not merged into HEAD or its upstream although every commit is pushed (a squash
 * merge, a push without -u), the ref is deleted only if it still points at the commit inspected.
 */
async function remove(main: string, row: Row, dir: string, ins: Inspection): Promise<void> {
  if (ins.exists) await git(main, ['worktree', 'remove', dir]);
  if (ins.tip === null) return;
  try {
    await git(main, ['branch', '-d', row.branch]);
  } catch (e) {
    const listed = await git(main, ['worktree', 'list', '--porcelain', '-z']);
    if (listed.split('\0').includes(`branch refs/heads/${row.branch}`)) throw e;
    await git(main, ['update-ref', '-d', `refs/heads/${row.branch}`, ins.tip]);
  }
}

function cleanupAnswer(row: Row, dir: string, facts: CleanupFacts, reason: string | null): WorktreeCleanup {
  if (reason === null) return { branch: row.branch, path: dir, state: 'removed' };
  return {
    branch: row.branch,
    path: dir,
    state: 'kept',
    reason,
    ...(facts.dirty.length ? { dirty: facts.dirty.slice(0, MAX_LISTED) } : {}),
    ...(facts.unpushed.length ? { commits: [...facts.unpushed] } : {}),
  };
}

/** Inspects one row and removes its worktree and branch when safe; the row goes with the branch. */
async function cleanRow(ctx: Ctx, main: string, row: Row): Promise<{ answer: WorktreeCleanup; ins: Inspection | null }> {
  const dir = worktreePath(main, row.branch);
  let ins: Inspection;
  try {
    ins = await inspect(ctx, main, row, dir);
  } catch (e) {
    return { answer: { branch: row.branch, path: dir, state: 'kept', reason: `could not inspect it: ${errorText(e)}` }, ins: null };
  }
  const reason = keepReason(ins.facts);
  if (reason !== null) return { answer: cleanupAnswer(row, dir, ins.facts, reason), ins };
  try {
    await remove(main, row, dir, ins);
  } catch (e) {
    return { answer: { branch: row.branch, path: dir, state: 'kept', reason: `git refused to delete it: ${errorText(e)}` }, ins };
  }
  await ctx.store.tx(() => rows(ctx).remove.run(row.branch, row.mega));
  return { answer: cleanupAnswer(row, dir, ins.facts, null), ins };
}

/**
 * After complete_phase or release_phase succeeded: deletes the phase's worktree and branch when
 * that loses nothing, else keeps both and says why (naming the files and commits). Undefined when
 * the phase has no branch of ours.
 */
export async function cleanupWorktree(ctx: Ctx, mega: string, phase: string | number): Promise<WorktreeCleanup | undefined> {
  const row = await rows(ctx).get.get(mega, phaseKey(phase));
  if (!row) return undefined;
  return (await cleanRow(ctx, mainCheckout(ctx.root), row)).answer;
}

/** The sentence a complete/release answer adds about the worktree. */
export function cleanupText(w: WorktreeCleanup): string {
  return w.state === 'removed' ? `; removed its worktree and branch ${w.branch}` : `; kept its worktree ${w.path} and branch ${w.branch}: ${w.reason}`;
}

/** The worktrees under .factory/worktrees that git knows, by path, with their branch (null: detached). */
async function listedWorktrees(main: string): Promise<Map<string, string | null>> {
  const out = await git(main, ['worktree', 'list', '--porcelain', '-z']);
  const under = path.join(main, ...WORKTREES_DIR) + path.sep;
  const found = new Map<string, string | null>();
  let current: string | null = null;
  for (const field of out.split('\0')) {
    if (field.startsWith('worktree ')) {
      const p = field.slice('worktree '.length);
      current = p.startsWith(under) ? p : null;
      if (current) found.set(current, null);
    } else if (current && field.startsWith('branch refs/heads/')) found.set(current, field.slice('branch refs/heads/'.length));
  }
  return found;
}

/**
 * `factory-mcp worktrees`: every worktree under .factory/worktrees and every branch the table
 * still names, with its phase, claim, uncommitted paths, unpushed commits and whether it is
 * merged; `prune` deletes the safe ones (phase not claimed, clean, everything pushed or merged).
 */
export async function listWorktrees(ctx: Ctx, opts: { prune?: boolean } = {}): Promise<WorktreeEntry[]> {
  const main = mainCheckout(ctx.root);
  const listed = await listedWorktrees(main);
  const known = await rows(ctx).all.all();
  const byPath = new Map(known.map((r) => [worktreePath(main, r.branch), r]));
  const entries: WorktreeEntry[] = [];
  const each = [...known.map((r) => ({ row: r as Row | null, dir: worktreePath(main, r.branch), branch: r.branch }))];
  for (const [dir, branch] of listed) if (!byPath.has(dir)) each.push({ row: null, dir, branch: branch ?? '(detached)' });
  for (const { row, dir, branch } of each) {
    const base = { branch, path: dir, exists: fs.existsSync(dir), mega: row?.mega ?? null, phase: row?.phase ?? null };
    if (!row) {
      // A worktree under .factory/worktrees that no phase owns (made by hand, or its row is gone): listed, never pruned.
      entries.push({
        ...base,
        status: 'unknown',
        owner: null,
        dirty: [],
        unpushed: [],
        merged: false,
        safe: false,
        reason: 'no phase owns it (not made by a claim): remove it by hand',
        ...(opts.prune ? { pruned: false } : {}),
      });
      continue;
    }
    const state = await rows(ctx).phase.get(row.mega, row.phase);
    const status = !state ? 'unknown' : state.owner !== null ? 'claimed' : state.completed_at !== null ? 'completed' : 'released';
    let ins: Inspection | null = null;
    let answer: WorktreeCleanup | null = null;
    if (opts.prune) ({ answer, ins } = await cleanRow(ctx, main, row));
    else
      ins = await inspect(ctx, main, row, dir).catch(() => {
        return null;
      });
    const reason = answer ? (answer.reason ?? null) : ins ? keepReason(ins.facts) : 'could not inspect it';
    entries.push({
      ...base,
      status,
      owner: state?.owner ?? null,
      dirty: ins ? [...ins.facts.dirty].slice(0, MAX_LISTED) : [],
      unpushed: ins ? [...ins.facts.unpushed] : [],
      merged: ins?.merged ?? false,
      safe: ins !== null && keepReason(ins.facts) === null,
      reason,
      ...(opts.prune ? { pruned: answer?.state === 'removed' } : {}),
    });
  }
  return entries;
}

/**
 * complete_phase's part: the completed phase's worktree cleaned up when safe, and the chained
 * claim given its own when the completed phase had one or the config asks for them.
 */
export async function afterComplete(ctx: Ctx, input: { mega: string; phase: string | number }, r: CompleteResult): Promise<CompleteResult> {
  if (!r.completed) return r;
  const had = await hasWorktree(ctx, input.mega, input.phase);
  if (had) await afterRelease(ctx, input, r);
  if (r.next?.claimed && (had || ctx.config.phases.worktrees)) r.next = await attachWorktree(ctx, r.next);
  return r;
}

/** release_phase's part (and complete_phase's): the phase's worktree and branch deleted when safe, else kept and said why. */
export async function afterRelease<R extends { message: string; worktree?: WorktreeCleanup | undefined }>(ctx: Ctx, input: { mega: string; phase: string | number }, r: R): Promise<R> {
  const w = await cleanupWorktree(ctx, input.mega, input.phase);
  if (w) {
    r.worktree = w;
    r.message += cleanupText(w);
  }
  return r;
}
