import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliSync } from '../helpers/stdio.js';
import { packageRoot } from '../../src/cli/init.js';
import { makeRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/server.js';

// `factory-mcp init` as a person runs it: a real process in real git repositories, and the entry it
// writes started the way Claude Code and Cursor start it.
const PKG = packageRoot();
const CLI = path.join(PKG, 'dist', 'src', 'cli.js');
const cleanup: string[] = [];
afterEach(() => {
  for (const d of cleanup.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** An npm global prefix of its own, empty unless `withPackage` (then like `npm install -g factory-mcp`). */
function npmPrefix(withPackage = false): NodeJS.ProcessEnv {
  const prefix = tempDir('factory-init-prefix-');
  cleanup.push(prefix);
  if (withPackage) install(path.join(prefix, 'lib', 'node_modules'), path.join(prefix, 'bin'));
  return { ...process.env, npm_config_prefix: prefix, FACTORY_LOG: 'silent' };
}

/** What npm install leaves: the package under node_modules and an executable `factory-mcp` in the bin folder. */
function install(modules: string, bin: string) {
  fs.mkdirSync(modules, { recursive: true });
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(PKG, path.join(modules, 'factory-mcp'));
  fs.writeFileSync(path.join(bin, 'factory-mcp'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
}

const init = (cwd: string, env: NodeJS.ProcessEnv, ...args: string[]) => runCliSync(['init', ...args], { cwd, env });
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** Starts the server the way a client does from the entry, in `cwd`, and lists its tools. */
async function toolsVia(entry: { command: string; args: string[] }, cwd: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const client = new Client({ name: 'init-test', version: '1' });
  await client.connect(new StdioClientTransport({ command: entry.command, args: entry.args, cwd, env: env as Record<string, string>, stderr: 'ignore' }));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe('factory-mcp init travels', () => {
  it('in a repository with a committed .mcp.json and factory-mcp in node_modules: a portable npx entry that starts, a $schema inside the repository', async () => {
    const repo = makeRepo();
    cleanup.push(repo.dir);
    repo.commit('mcp servers', { '.mcp.json': JSON.stringify({ mcpServers: { github: { command: 'gh-mcp' } } }) });
    install(path.join(repo.dir, 'node_modules'), path.join(repo.dir, 'node_modules', '.bin'));
    const env = npmPrefix();

    const r = init(repo.dir, env);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^updated +\.mcp\.json$/m);
    expect(r.stdout).toContain("`npx --no factory-mcp` from this repository's node_modules: the files can be committed");
    expect(r.stdout).toMatch(/Pending approval[\s\S]*enabledMcpjsonServers/);
    const mcp = readJson(path.join(repo.dir, '.mcp.json'));
    expect(mcp.mcpServers).toEqual({ github: { command: 'gh-mcp' }, factory: { type: 'stdio', command: 'npx', args: ['--no', 'factory-mcp'] } });
    expect(JSON.stringify(mcp)).not.toContain(PKG); // nothing of this machine in the committed file
    const schema = readJson(path.join(repo.dir, 'factory.config.json')).$schema as string;
    expect(schema).toBe('./node_modules/factory-mcp/schemas/factory.config.schema.json');
    expect(readJson(path.resolve(repo.dir, schema)).$schema).toMatch(/json-schema\.org/); // it resolves, to the schema
    expect(await toolsVia(mcp.mcpServers.factory, repo.dir, env)).toContain('claim_phase');

    const again = init(repo.dir, env);
    expect(again.stdout).toMatch(/^current +\.mcp\.json \(already up to date\)$/m);
    expect(again.stdout).toMatch(/^kept +factory\.config\.json/m);
  });

  it('installed globally (npm prefix): the same npx entry, started from a repository without node_modules', async () => {
    const repo = makeRepo();
    cleanup.push(repo.dir);
    const env = npmPrefix(true);
    const r = init(repo.dir, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(installed globally)');
    expect(r.stdout).toContain('claude mcp add --scope user factory -- npx --no factory-mcp');
    const entry = readJson(path.join(repo.dir, '.cursor', 'mcp.json')).mcpServers.factory;
    expect(entry).toEqual({ type: 'stdio', command: 'npx', args: ['--no', 'factory-mcp'] });
    expect(await toolsVia(entry, repo.dir, env)).toContain('claim_phase');
  });

  it('outside git: warns on stderr, writes there, and says the absolute fallback is not portable', async () => {
    const dir = tempDir('factory-init-nogit-');
    cleanup.push(dir);
    const env = npmPrefix();
    const r = init(dir, env);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^warning: .* is not in a git repository: the files are written there/);
    expect(r.stdout).toContain(`\`node ${CLI}\`: an absolute path to this checkout`);
    expect(r.stdout).toContain('npm install -D factory-mcp');
    const entry = readJson(path.join(dir, '.mcp.json')).mcpServers.factory;
    expect(entry).toEqual({ type: 'stdio', command: 'node', args: [CLI] });
    const schema = readJson(path.join(dir, 'factory.config.json')).$schema as string;
    expect(path.isAbsolute(schema) && fs.existsSync(schema)).toBe(true); // never a ../../ climbing out of the folder
    expect(await toolsVia({ command: process.execPath, args: entry.args }, dir, env)).toContain('claim_phase');
  });

  it('a stale entry of its own: "differs: run with --force to update", untouched until --force', () => {
    const repo = makeRepo();
    cleanup.push(repo.dir);
    const stale = { type: 'stdio', command: 'node', args: ['/old/checkout/dist/src/cli.js'] };
    repo.commit('old init', { '.mcp.json': JSON.stringify({ mcpServers: { factory: stale } }) });
    install(path.join(repo.dir, 'node_modules'), path.join(repo.dir, 'node_modules', '.bin'));
    const env = npmPrefix();

    const r = init(repo.dir, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^differs +\.mcp\.json: its "factory" entry differs from what init writes: run with --force to update$/m);
    expect(readJson(path.join(repo.dir, '.mcp.json')).mcpServers.factory).toEqual(stale);

    const forced = init(repo.dir, env, '--force');
    expect(forced.stdout).toMatch(/^updated +\.mcp\.json$/m);
    expect(readJson(path.join(repo.dir, '.mcp.json')).mcpServers.factory).toEqual({ type: 'stdio', command: 'npx', args: ['--no', 'factory-mcp'] });
  });
});
