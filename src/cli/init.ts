import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../../schemas/config.js';
import { CONFIG_FILE, findRepoRoot } from '../core/config.js';
import { InputError } from '../core/errors.js';
import { parseGithubRemote } from '../integrations/github.js';
import { childEnv } from '../integrations/run.js';
import { GIT_HARDEN } from '../integrations/git.js';

/** The package root (where dist/, schemas/ and dashboard/ live), found from this module. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('factory-mcp package root not found');
    dir = up;
  }
  return dir;
}

export const SERVER_KEY = 'factory';
const PKG_NAME = 'factory-mcp';
const SCHEMA_REL = 'schemas/factory.config.schema.json';

export interface InitResult {
  /** created / updated: written; kept: an existing config (yours); current: already what init writes; differs: an entry of ours that init would change (--force). */
  files: { path: string; action: 'created' | 'updated' | 'kept' | 'current' | 'differs' }[];
  /** How the entry starts the server: 'local' (the repository's node_modules), 'global' (npm's global bin), 'absolute' (this checkout's built file: not portable). */
  via: 'local' | 'global' | 'absolute';
  entry: { type: 'stdio'; command: string; args: string[] };
  /** false when the folder is not in a git repository (the files are written there anyway). */
  inGit: boolean;
  claudeUserScope: string;
}

interface McpFile {
  mcpServers?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Whether the repository has the package in its own node_modules (what `npm install -D factory-mcp` makes). */
function installedIn(root: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', PKG_NAME, 'package.json'), 'utf8')) as { name?: string }).name === PKG_NAME;
  } catch {
    return false;
  }
}

/** Whether npm's global bin has a `factory-mcp` (what `npm install -g` or `npm link` makes), which `npx` finds. */
function installedGlobally(env: NodeJS.ProcessEnv): boolean {
  try {
    const prefix = execFileSync('npm', ['prefix', '-g'], { env: childEnv(env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 }).trim();
    const bin = process.platform === 'win32' ? path.join(prefix, `${PKG_NAME}.cmd`) : path.join(prefix, 'bin', PKG_NAME);
    return prefix !== '' && fs.existsSync(bin);
  } catch {
    return false; // no npm on PATH: the absolute fallback
  }
}

/**
 * How a client starts the server from this repository. Installed in the repository's
 * node_modules or globally: `npx --no factory-mcp` (portable: the file can be committed; `--no`
 * makes npx fail instead of fetching a package of that name from the registry). Otherwise this
 * checkout's built file by absolute path, which works on this machine only.
 */
export function serverEntry(root: string, env: NodeJS.ProcessEnv = process.env): Pick<InitResult, 'via' | 'entry'> {
  const via = installedIn(root) ? 'local' : installedGlobally(env) ? 'global' : 'absolute';
  const args = via === 'absolute' ? [path.join(packageRoot(), 'dist', 'src', 'cli.js')] : ['--no', PKG_NAME];
  return { via, entry: { type: 'stdio', command: via === 'absolute' ? 'node' : 'npx', args } };
}

/**
 * The config's $schema, as a path editors resolve from the config file: inside node_modules when
 * the package is installed there, relative when the package lives inside the repository, else
 * absolute (never a relative path climbing out of the repository).
 */
export function schemaRef(root: string): string {
  if (installedIn(root)) return `./node_modules/${PKG_NAME}/${SCHEMA_REL}`;
  const abs = path.join(packageRoot(), ...SCHEMA_REL.split('/'));
  const rel = path.relative(root, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : `./${rel.split(path.sep).join('/')}`;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * `factory-mcp init`: factory.config.json with the defaults and a $schema pointer, plus the
 * client configurations for Claude Code (project-scoped .mcp.json) and Cursor
 * (.cursor/mcp.json). Other servers' entries are kept; an existing `factory` entry that differs
 * from what init writes is reported as `differs` and replaced only with `force`. Every existing
 * file is read and validated before anything is written. A repository without a GitHub remote
 * gets `dod.github: "off"`, so its DoD can pass without a PR.
 */
export function initRepository(root: string, opts: { force?: boolean; env?: NodeJS.ProcessEnv } = {}): InitResult {
  const { via, entry } = serverEntry(root, opts.env);
  const targets = [path.join(root, '.mcp.json'), path.join(root, '.cursor', 'mcp.json')];
  const parsed = targets.map((file) => [file, readJsonObject(file)] as const);

  const files: InitResult['files'] = [];
  const configFile = path.join(root, CONFIG_FILE);
  if (fs.existsSync(configFile) && !opts.force) {
    files.push({ path: configFile, action: 'kept' });
  } else {
    const defaults = ConfigSchema.parse({});
    const config = { $schema: schemaRef(root), ...defaults, dod: { ...defaults.dod, github: hasGithubRemote(root) ? 'on' : 'off' } };
    const existed = fs.existsSync(configFile);
    fs.writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    files.push({ path: configFile, action: existed ? 'updated' : 'created' });
  }

  for (const [file, existing] of parsed) {
    const servers = (existing?.mcpServers ?? {}) as Record<string, unknown>;
    const ours = servers[SERVER_KEY];
    if (ours !== undefined && sameJson(ours, entry)) {
      files.push({ path: file, action: 'current' });
      continue;
    }
    if (ours !== undefined && !opts.force) {
      files.push({ path: file, action: 'differs' });
      continue;
    }
    const next: McpFile = { ...(existing ?? {}), mcpServers: { ...servers, [SERVER_KEY]: entry } };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
    files.push({ path: file, action: existing ? 'updated' : 'created' });
  }
  const inGit = fs.existsSync(path.join(root, '.git'));
  // User scope starts the server in every project: npx finds a global install there, a repository's node_modules only in that repository.
  const user = via === 'global' ? entry.args : [path.join(packageRoot(), 'dist', 'src', 'cli.js')];
  return { files, via, entry, inGit, claudeUserScope: `claude mcp add --scope user ${SERVER_KEY} -- ${via === 'global' ? 'npx' : 'node'} ${user.join(' ')}` };
}

const ACTION_NOTE: Record<InitResult['files'][number]['action'], string> = {
  created: '',
  updated: '',
  kept: ' (yours: not overwritten; --force rewrites it with the defaults)',
  current: ' (already up to date)',
  differs: `: its "${SERVER_KEY}" entry differs from what init writes: run with --force to update`,
};

/** What `factory-mcp init` prints: the files, how the server starts, and what is left to do in the clients. */
export function renderInit(r: InitResult, cwd: string): string {
  const lines = r.files.map((f) => `${f.action.padEnd(8)} ${path.relative(cwd, f.path) || f.path}${ACTION_NOTE[f.action]}`);
  const command = [r.entry.command, ...r.entry.args].join(' ');
  lines.push(
    '',
    r.via === 'local'
      ? `The server starts with \`${command}\` from this repository's node_modules: the files can be committed.`
      : r.via === 'global'
        ? `The server starts with \`${command}\` (installed globally): the files can be committed; each teammate needs factory-mcp installed (npm install -D factory-mcp).`
        : `The server starts with \`${command}\`: an absolute path to this checkout, because factory-mcp is not installed in this repository's node_modules nor globally. It works on this machine only; to commit the files, \`npm install -D factory-mcp\` here and run \`factory-mcp init --force\`.`,
    '',
    'Claude Code: a project .mcp.json server stays "Pending approval" until you trust this folder and',
    `approve "${SERVER_KEY}": start \`claude\` here and accept the prompt (or check \`/mcp\`); to approve it without`,
    `a prompt, add "enabledMcpjsonServers": ["${SERVER_KEY}"] to .claude/settings.local.json.`,
    `Cursor: turn "${SERVER_KEY}" on under Cursor Settings → MCP if it shows as off.`,
    '',
    `For every project (Claude Code user scope):\n  ${r.claudeUserScope}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Outside a git repository: the files go into the folder itself, said on stderr. */
export function notInGitWarning(root: string): string {
  return `warning: ${root} is not in a git repository: the files are written there, and agents started elsewhere will not find them (run init at your repository's root, or \`git init\` first)\n`;
}

/** Whether any remote of the repository points at github.com (reads git's config only). */
export function hasGithubRemote(root: string): boolean {
  let urls = '';
  try {
    urls = execFileSync('git', [...GIT_HARDEN, 'config', '--get-regexp', '^remote\\..*\\.url$'], { cwd: root, env: childEnv(process.env), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return false; // no remote at all (git exits 1), or not a repository git can read
  }
  return urls.split('\n').some((l) => parseGithubRemote(l.slice(l.indexOf(' ') + 1)) !== null);
}

function readJsonObject(file: string): McpFile | null {
  if (!fs.existsSync(file)) return null;
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message}); fix or remove it — nothing was written`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InputError(file, 'expected a JSON object; nothing was written');
  const servers = (v as McpFile).mcpServers;
  if (servers !== undefined && (typeof servers !== 'object' || servers === null || Array.isArray(servers))) {
    throw new InputError(`${file}: mcpServers`, 'expected an object; nothing was written');
  }
  return v as McpFile;
}

/** The `init` command: writes the files, warns outside git, prints what is left to do. */
export function runInit(v: { cwd?: string; force?: boolean }): number {
  const root = findRepoRoot(v.cwd ?? process.cwd());
  const r = initRepository(root, { force: v.force === true });
  if (!r.inGit) process.stderr.write(notInGitWarning(root));
  process.stdout.write(renderInit(r, process.cwd()));
  return 0;
}
