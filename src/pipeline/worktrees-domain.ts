/**
 * A branch and a worktree per claim, the pure part: the branch name a phase gets, the directory
 * its worktree lives in, and whether a worktree and its branch may be deleted. No I/O.
 */

/** Every branch factory-mcp creates lives under this prefix; its worktree directory is the rest of the name. */
export const BRANCH_PREFIX = 'factory/';
/** Where the worktrees live, relative to the main checkout. */
export const WORKTREES_DIR = ['.factory', 'worktrees'] as const;
/** Characters kept of each part of a branch name (MEGA, phase id, phase name). */
export const PART_MAX = 40;

/**
 * `s` as a slug: lowercase ASCII letters and digits, any run of anything else (spaces, dots,
 * slashes, `~^:?*[\`, accents, control characters) one `-`, none at either end, at most `max`
 * characters. A slug is always a valid piece of a git ref name and can never be read as an option
 * (it never starts with `-`) or a path step (no `.` or `/`).
 */
export function slug(s: string, max = PART_MAX): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

/**
 * The branch of a phase: `factory/<mega>-<phase>-<slug of its name>`, each part slugged; `n` > 1
 * (another phase already has the name, as "A-1"/"2" and "A"/"1-2" would) adds `-<n>`.
 */
export function branchName(mega: string, phase: string, name: string, n = 1): string {
  const parts = [slug(mega) || 'mega', slug(phase) || 'phase', slug(name)].filter((p) => p !== '');
  return `${BRANCH_PREFIX}${parts.join('-')}${n > 1 ? `-${n}` : ''}`;
}

/** The worktree directory's name (under WORKTREES_DIR) for a branch this module named: the branch without its prefix. */
export function worktreeDirName(branch: string): string {
  if (!branch.startsWith(BRANCH_PREFIX) || !/^[a-z0-9][a-z0-9-]*$/.test(branch.slice(BRANCH_PREFIX.length))) throw new Error(`not a factory branch: ${branch}`);
  return branch.slice(BRANCH_PREFIX.length);
}

export interface Commit {
  sha: string;
  subject: string;
}

/** What clean-up looks at before it deletes a worktree and its branch. */
export interface CleanupFacts {
  /** The phase's current owner when it is claimed (again): its owner works there. */
  claimedBy: string | null;
  /** Paths with uncommitted changes in the worktree, untracked files included. */
  dirty: readonly string[];
  /** Commits of the branch (or of the worktree's detached HEAD) in no remote-tracking branch and not in the default branch. */
  unpushed: readonly Commit[];
  /** More unpushed commits than listed. */
  moreUnpushed: boolean;
}

/** How many items of a list a reason names; the answer's lists hold the rest. */
const NAMED = 5;

function listed(items: readonly string[], more: boolean): string {
  return items.slice(0, NAMED).join(', ') + (more || items.length > NAMED ? ', …' : '');
}

/**
 * Why the worktree and branch must be kept, or null when deleting them loses nothing: nobody
 * claims the phase, nothing is uncommitted (untracked files count), and every commit is pushed
 * (in a remote-tracking branch) or merged into the default branch.
 */
export function keepReason(f: CleanupFacts): string | null {
  const why: string[] = [];
  if (f.claimedBy !== null) why.push(`its phase is claimed by ${f.claimedBy}`);
  if (f.dirty.length) why.push(`uncommitted changes in ${f.dirty.length} file${f.dirty.length === 1 ? '' : 's'} (${listed(f.dirty, false)})`);
  if (f.unpushed.length) {
    const n = `${f.moreUnpushed ? 'more than ' : ''}${f.unpushed.length}`;
    why.push(
      `${n} commit${f.unpushed.length === 1 && !f.moreUnpushed ? '' : 's'} neither pushed nor merged (${listed(
        f.unpushed.map((c) => `${c.sha} ${c.subject}`),
        f.moreUnpushed,
      )})`,
    );
  }
  return why.length ? why.join('; ') : null;
}

/** Parses `git status --porcelain=v1 -z` into the paths it names (a rename's source is skipped). */
export function statusPaths(out: string): string[] {
  const fields = out.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    if (f.length < 4) continue;
    paths.push(f.slice(3));
    if (f[0] === 'R' || f[0] === 'C') i++;
  }
  return paths;
}

/** Parses `git log --format=%h%x00%s%x00` output into commits. */
export function logCommits(out: string): Commit[] {
  const fields = out.split('\0');
  const commits: Commit[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const sha = (fields[i] as string).trim();
    if (sha) commits.push({ sha, subject: (fields[i + 1] as string).slice(0, 200) });
  }
  return commits;
}
