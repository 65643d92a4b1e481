import fs from 'node:fs';
import path from 'node:path';
import { ConfigSchema, type Config } from '../schemas/config.js';
import { formatIssues } from '../schemas/common.js';
import { ConfigError } from './errors.js';

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

/** Where the database lives: --db, then FACTORY_DB, then .factory/factory.db at the repository root. */
export function resolveDbPath(root: string, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env.FACTORY_DB;
  if (chosen) return path.resolve(chosen);
  return path.join(root, '.factory', 'factory.db');
}
