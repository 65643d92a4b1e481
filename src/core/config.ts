import fs from 'node:fs';
import path from 'node:path';
import { ConfigSchema, type Config } from '../../schemas/config.js';
import { formatIssues } from '../../schemas/common.js';
import { ConfigError } from './errors.js';
import { DEFAULT_RULES, LOGIC_RULES } from '../changes/rules.js';

export const CONFIG_FILE = 'factory.config.json';

/**
 * The repository root: the nearest directory upwards holding `.git` (a directory, or a file
 * in worktrees and submodules), or `cwd` itself outside git. Walks the tree instead of running
 * git, so a server starts without spawning a process.
 */
export function findRepoRoot(cwd: string): string {
  const start = path.resolve(cwd);
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}

/** Reads and validates factory.config.json at the root (absent → defaults). */
export function loadConfig(root: string): Config {
  const file = path.join(root, CONFIG_FILE);
  let raw: unknown = {};
  if (fs.existsSync(file)) {
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
    }
  }
  return parseConfig(raw, file);
}

export function parseConfig(raw: unknown, where = CONFIG_FILE): Config {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${where}: ${formatIssues(r.error)}`);
  return r.data;
}

/**
 * The main checkout of the repository `root` belongs to: `root` itself, or, when `root` is a linked
 * worktree, the checkout of its common git directory (read from the files, no git process), so
 * worktrees never nest inside worktrees.
 */
export function mainCheckout(root: string): string {
  const dotgit = path.join(root, '.git');
  try {
    if (fs.statSync(dotgit).isDirectory()) return root;
    const m = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(dotgit, 'utf8'));
    if (!m) return root;
    const gitdir = path.resolve(root, (m[1] as string).trim());
    const common = path.resolve(gitdir, fs.readFileSync(path.join(gitdir, 'commondir'), 'utf8').trim());
    return path.basename(common) === '.git' ? path.dirname(common) : root;
  } catch {
    return root; // not a repository, or a submodule (no commondir): git says what is wrong
  }
}

/** Whether a database target is a PostgreSQL URL (else it is a SQLite file). */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/** A database target fit to print: a PostgreSQL URL without its password (a file path as it is). */
export function shownTarget(target: string): string {
  const m = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/is.exec(target);
  if (!m) return target;
  let authority = m[2] as string;
  const at = authority.lastIndexOf('@'); // a raw @ may sit inside the password: the host follows the last one
  if (at >= 0) authority = `${(authority.slice(0, at).split(':')[0] as string) || ''}@${authority.slice(at + 1)}`;
  return `${m[1]}${authority}${(m[3] as string).replace(/([?&])password=[^&#]*/gi, '$1password=***')}`;
}

/** The password a PostgreSQL URL carries (decoded), or null. */
export function urlPassword(target: string): string | null {
  if (!isPostgresUrl(target)) return null;
  try {
    const u = new URL(target);
    const pw = u.password ? decodeURIComponent(u.password) : u.searchParams.get('password');
    return pw || null;
  } catch {
    return null;
  }
}

/**
 * Where the database lives: --db, then FACTORY_DB, then the config's `database`, then
 * .factory/factory.db in the main checkout (a server started inside a claim's worktree shares the
 * repository's database, not one of its own). A PostgreSQL URL is returned as it is; a relative
 * file in the config is relative to the repository.
 */
export function resolveDbPath(root: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env, config?: Pick<Config, 'database'>): string {
  const chosen = flag ?? env.FACTORY_DB;
  if (chosen) return isPostgresUrl(chosen) ? chosen : path.resolve(chosen);
  if (config?.database) return isPostgresUrl(config.database) ? config.database : path.resolve(mainCheckout(root), config.database);
  return path.join(mainCheckout(root), '.factory', 'factory.db');
}

/**
 * The settings of `config` that weaken a gate compared with the defaults, one phrase each. The
 * config is a file an agent can edit, so what it switched off is said where the gate is passed
 * (check_dod, claim_phase, complete_phase answers and the operations log), never silent.
 */
export function gateWeakenings(config: Config): string[] {
  let out = weakenings.get(config);
  if (!out) weakenings.set(config, (out = findWeakenings(config)));
  return out;
}

/** Per config object: claim_phase and complete_phase ask on every call, and a server's config does not change. */
const weakenings = new WeakMap<Config, string[]>();
let defaults: Config | undefined;

function findWeakenings(config: Config): string[] {
  const d = (defaults ??= ConfigSchema.parse({}));
  const { council: c, changes: ch, dod } = config;
  const out: string[] = [];
  if (c.gate_points > d.council.gate_points) out.push(`council.gate_points ${c.gate_points} (default ${d.council.gate_points})`);
  if (c.go_threshold < d.council.go_threshold) out.push(`council.go_threshold ${c.go_threshold} (default ${d.council.go_threshold})`);
  if (c.adjust_threshold < d.council.adjust_threshold) out.push(`council.adjust_threshold ${c.adjust_threshold} (default ${d.council.adjust_threshold})`);
  if (c.supersede_sources.includes('caller')) out.push('council.supersede_sources includes "caller" (the agent\'s own reviews lift a reject)');
  if (!ch.ask_blocks_complete) out.push('changes.ask_blocks_complete false (Ask does not wait for a human)');
  if (ch.max_lines > d.changes.max_lines) out.push(`changes.max_lines ${ch.max_lines} (default ${d.changes.max_lines}: larger changes are not too_large)`);
  const unsized = ch.size_exclude.filter((g) => !d.changes.size_exclude.includes(g));
  if (unsized.length) out.push(`changes.size_exclude adds ${unsized.join(', ')} (their lines do not count towards too_large)`);
  if (ch.remove.length) out.push(`changes.remove drops built-in rule(s) ${ch.remove.join(', ')}`);
  const builtIn = ch.rules.filter((r) => r.id in LOGIC_RULES || DEFAULT_RULES.some((s) => s.id === r.id)).map((r) => r.id);
  if (builtIn.length) out.push(`changes.rules overrides built-in rule(s) ${builtIn.join(', ')}`);
  if (config.autonomy > d.autonomy) out.push(`autonomy ${config.autonomy} (default ${d.autonomy})`);
  if (config.phases.reservations === 'warn') out.push('phases.reservations "warn" (overlapping file reservations are allowed with a warning)');
  if (dod.github === 'off') out.push('dod.github "off" (pr_created and ci_green skipped)');
  if (dod.secrets === 'skip') out.push('dod.secrets "skip" (no_secrets skipped)');
  if (dod.min_checks < d.dod.min_checks && dod.required_checks.length === 0) out.push(`dod.min_checks ${dod.min_checks} (default ${d.dod.min_checks})`);
  dod.components.forEach((k, i) => {
    const off = Object.entries(k.commands)
      .filter(([, v]) => v === false)
      .map(([id]) => id);
    if (off.length) out.push(`dod.components[${i}].commands ${off.join(', ')} false (skipped)`);
    if (k.commands.compiles !== false && !k.after.includes('compiles')) out.push(`dod.components[${i}].after without "compiles" (tests may run against the old build)`);
  });
  return out;
}
