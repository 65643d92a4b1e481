/**
 * `factory-mcp guard`, the git pre-commit hook of file reservations, and `factory-mcp init --hooks`,
 * which installs it. The guard refuses (exit 1) a commit whose staged paths another live claim
 * reserved, naming the files, the owner and the phase. Which reservations are the committer's own
 * is proved, never claimed: a CLI session's secret key (FACTORY_SESSION, checked against its stored
 * hash); an instance id from the environment counts for nothing.
 * A hook is advisory by nature (`git commit --no-verify`, `core.hooksPath`): the merge gate on the
 * server side is what holds (docs/pipeline.md, "File reservations").
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Store } from '../core/store.js';
import { isPostgresUrl, loadConfig, shownTarget } from '../core/config.js';
import { git } from '../integrations/git.js';
import { worktreeOwner } from './worktrees.js';
import { childEnv } from '../integrations/run.js';
import { sessionKeyHash } from '../cli/session.js';
import { serverEntry } from '../cli/init.js';

/** Variables git sets for a hook that say which repository and index the commit uses. */
const HOOK_GIT_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES'] as const;

function hookGitEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of HOOK_GIT_VARS) if (env[k]) out[k] = env[k] as string;
  return out;
}

/** The checkout the commit is made in and the main repository root (where .factory/factory.db lives). */
async function checkout(cwd: string, env: NodeJS.ProcessEnv): Promise<{ top: string; main: string } | null> {
  let out: string;
  try {
    out = await git(cwd, ['rev-parse', '--show-toplevel', '--git-common-dir'], { setEnv: hookGitEnv(env) });
  } catch {
    return null; // not a git repository
  }
  const [top = '', common = ''] = out.split('\n');
  const commonAbs = path.resolve(cwd, common);
  return { top, main: path.basename(commonAbs) === '.git' ? path.dirname(commonAbs) : top };
}

const unreadable = (file: string, e: unknown): GuardOutcome => ({
  exit: 2,
  text: `factory-mcp guard: cannot read ${shownTarget(file)}: ${(e as Error).message}\n(git commit --no-verify skips this hook, knowingly)\n`,
});

export interface GuardOutcome {
  /** 0 commit goes on, 1 refused (reserved files), 2 the guard could not read a database. */
  exit: 0 | 1 | 2;
  text: string;
}

/**
 * The pre-commit check. Databases looked at: --db, FACTORY_DB, the config's `database` and the
 * repository's own .factory/factory.db, each that exists (pointing FACTORY_DB elsewhere does not
 * hide the repository's; a PostgreSQL URL is always read). None: exit 0 quietly (a repository without factory-mcp).
 */
export async function runGuard(opts: { cwd: string; env: NodeJS.ProcessEnv; db?: string | undefined; now: number }): Promise<GuardOutcome> {
  const at = await checkout(opts.cwd, opts.env);
  if (!at) return { exit: 0, text: '' };
  // A PostgreSQL store (--db, FACTORY_DB or the config's `database`) is always looked at; a file only when it exists.
  const configured = loadConfig(at.main).database;
  const named = [opts.db, opts.env.FACTORY_DB, configured && !isPostgresUrl(configured) ? path.resolve(at.main, configured) : configured, path.join(at.main, '.factory', 'factory.db')];
  const files = [...new Set(named.filter((f): f is string => Boolean(f)).map((f) => (isPostgresUrl(f) ? f : path.resolve(opts.cwd, f))))].filter((f) => isPostgresUrl(f) || fs.existsSync(f));
  if (files.length === 0) return { exit: 0, text: '' };
  const staged = (await git(opts.cwd, ['diff', '--cached', '--name-only', '-z', '--no-renames'], { setEnv: hookGitEnv(opts.env) })).split('\0').filter(Boolean);
  if (staged.length === 0) return { exit: 0, text: '' };
  const lines: string[] = [];
  for (const file of files) {
    let store: Store;
    try {
      store = await Store.open(file, { leaseSeconds: 7200, readOnly: true, env: opts.env });
    } catch (e) {
      return unreadable(file, e);
    }
    try {
      const mine = await ownInstances(store, opts.env, at);
      const reservations = store.phases.reservations;
      for (const h of reservations ? await reservations.holders(staged, opts.now, mine) : []) {
        lines.push(`  ${h.path} — reserved as ${JSON.stringify(h.glob)} by ${h.mega}/${String(h.phase)} "${h.name}", held by ${h.agent ? `${h.owner} (${h.agent})` : h.owner}`);
      }
    } catch (e) {
      return unreadable(file, e);
    } finally {
      await store.close();
    }
  }
  if (!lines.length) return { exit: 0, text: '' };
  return {
    exit: 1,
    text: [
      'factory-mcp guard: this commit touches files another live claim reserved:',
      ...lines,
      'Unstage them (git restore --staged FILE) or wait until that claim ends (complete, release, or its lease passes with its owner gone).',
      'Committing as the owner: in its claim worktree, or with its CLI session key in FACTORY_SESSION.',
      '',
    ].join('\n'),
  };
}

/**
 * The instances whose reservations are the committer's own: the owner of the live claim whose
 * worktree this checkout is (src/pipeline/worktrees.ts), and the live CLI session whose secret key
 * is in FACTORY_SESSION (its hash must be stored). Nothing else: an instance id in the environment
 * proves nothing.
 */
async function ownInstances(store: Store, env: NodeJS.ProcessEnv, at: { top: string; main: string }): Promise<Set<string>> {
  const mine = new Set<string>();
  const owner = await worktreeOwner(store, at.main, at.top);
  if (owner) mine.add(owner);
  const key = env.FACTORY_SESSION;
  if (key) {
    const row = await store.sessions.byKeyHash(sessionKeyHash(key));
    if (row && row.ended_at === null && row.adopted_by === null) mine.add(row.instance);
  }
  return mine;
}

// ---------------------------------------------------------------- init --hooks

const MARK = '# factory-mcp guard hook';
const CHAINED = 'pre-commit.factory-chained';

/** Single-quoted for sh. */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The hook script: the hook that was there before runs first (its failure blocks the commit), then the guard. */
export function hookScript(command: readonly string[]): string {
  return `#!/bin/sh
${MARK} (written by factory-mcp init --hooks): refuses a commit that touches files another
# live claim reserved. The pre-commit hook that was here before is kept as ${CHAINED} and runs
# first; its failure still blocks the commit. git commit --no-verify skips every hook.
chained="$(dirname "$0")/${CHAINED}"
if [ -x "$chained" ]; then
  "$chained" "$@" || exit $?
fi
exec ${command.map(shq).join(' ')} guard
`;
}

/** The hooks directory git runs hooks from for `cwd`: core.hooksPath when set, else the common dir's hooks (worktrees share it). */
export function hooksDir(cwd: string, env: NodeJS.ProcessEnv): string {
  // Not the hardened git: it sets core.hooksPath to /dev/null, which is what this asks about.
  const out = execFileSync('git', ['-c', 'core.fsmonitor=false', 'rev-parse', '--git-path', 'hooks'], { cwd, env: childEnv(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return path.resolve(cwd, out);
}

export interface HooksOutcome {
  hook: string;
  action: 'installed' | 'updated' | 'current';
  /** The hook that was there before, now run first by ours. */
  chained?: string;
}

/**
 * `factory-mcp init --hooks`: writes the pre-commit hook into the repository's hooks directory.
 * An existing hook of another tool is renamed to pre-commit.factory-chained and run first by ours;
 * our own hook is rewritten only when it differs (idempotent). Refuses, writing nothing, when a
 * foreign hook and a chained one both exist (the chained one would be lost).
 */
export function installHooks(cwd: string, root: string, env: NodeJS.ProcessEnv): HooksOutcome {
  const dir = hooksDir(cwd, env);
  const hook = path.join(dir, 'pre-commit');
  const chained = path.join(dir, CHAINED);
  const { entry } = serverEntry(root, env);
  const script = hookScript([entry.command, ...entry.args]);
  fs.mkdirSync(dir, { recursive: true });
  let existing: string | null = null;
  try {
    existing = fs.readFileSync(hook, 'utf8');
  } catch {
    existing = fs.existsSync(hook) || isLink(hook) ? '' : null;
  }
  const hasChained = fs.existsSync(chained);
  if (existing !== null && existing.includes(MARK)) {
    if (existing === script) return { hook, action: 'current', ...(hasChained ? { chained } : {}) };
    fs.writeFileSync(hook, script);
    fs.chmodSync(hook, 0o755);
    return { hook, action: 'updated', ...(hasChained ? { chained } : {}) };
  }
  if (existing !== null) {
    if (hasChained) throw new Error(`${hook} is not factory-mcp's and ${chained} exists too: move one of them away (nothing was written)`);
    fs.renameSync(hook, chained);
  }
  fs.writeFileSync(hook, script);
  fs.chmodSync(hook, 0o755);
  return { hook, action: 'installed', ...(existing !== null ? { chained } : {}) };
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** What `init --hooks` prints. */
export function renderHooks(r: HooksOutcome, cwd: string): string {
  const rel = (p: string) => path.relative(cwd, p) || p;
  const what =
    r.action === 'current' ? `current  ${rel(r.hook)} (the factory-mcp guard hook is already installed)` : `${r.action.padEnd(8)} ${rel(r.hook)}: git runs \`factory-mcp guard\` before each commit`;
  const chain = r.chained ? `\nkept     ${rel(r.chained)}: your previous pre-commit hook, run first (its failure still blocks the commit)` : '';
  return `${what}${chain}\nThe hook is advisory: git commit --no-verify skips it; the merge gate is what holds (docs/pipeline.md).\n`;
}
