import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../../schemas/config.js';
import { CONFIG_FILE } from '../core/config.js';
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

export interface InitResult {
  files: { path: string; action: 'created' | 'updated' | 'kept' }[];
  claudeUserScope: string;
}

interface McpFile {
  mcpServers?: Record<string, unknown>;
  [k: string]: unknown;
}

/**
 * `factory-mcp init`: factory.config.json with the defaults and a $schema pointer, plus the
 * client configurations for Claude Code (project-scoped .mcp.json) and Cursor
 * (.cursor/mcp.json). Other servers' entries are kept; an existing `factory` entry is kept
 * unless `force`. Every existing file is read and validated before anything is written.
 * A repository without a GitHub remote gets `dod.github: "off"`, so its DoD can pass without a PR.
 */
export function initRepository(root: string, opts: { force?: boolean } = {}): InitResult {
  const pkg = packageRoot();
  const cli = path.join(pkg, 'dist', 'src', 'cli.js');
  const entry = { type: 'stdio', command: 'node', args: [cli] };
  const targets = [path.join(root, '.mcp.json'), path.join(root, '.cursor', 'mcp.json')];
  const parsed = targets.map((file) => [file, readJsonObject(file)] as const);

  const files: InitResult['files'] = [];
  const configFile = path.join(root, CONFIG_FILE);
  if (fs.existsSync(configFile) && !opts.force) {
    files.push({ path: configFile, action: 'kept' });
  } else {
    const schemaPath = path.relative(root, path.join(pkg, 'schemas', 'factory.config.schema.json')).split(path.sep).join('/');
    const defaults = ConfigSchema.parse({});
    const config = { $schema: schemaPath.startsWith('.') ? schemaPath : `./${schemaPath}`, ...defaults, dod: { ...defaults.dod, github: hasGithubRemote(root) ? 'on' : 'off' } };
    const existed = fs.existsSync(configFile);
    fs.writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    files.push({ path: configFile, action: existed ? 'updated' : 'created' });
  }

  for (const [file, existing] of parsed) {
    const servers = (existing?.mcpServers ?? {}) as Record<string, unknown>;
    if (servers[SERVER_KEY] !== undefined && !opts.force) {
      files.push({ path: file, action: 'kept' });
      continue;
    }
    const next: McpFile = { ...(existing ?? {}), mcpServers: { ...servers, [SERVER_KEY]: entry } };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
    files.push({ path: file, action: existing ? 'updated' : 'created' });
  }
  return { files, claudeUserScope: `claude mcp add --scope user ${SERVER_KEY} -- node ${cli}` };
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
