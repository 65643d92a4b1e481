import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { initRepository, packageRoot } from '../../src/cli/init.js';
import { configJsonSchema, SCHEMA_FILE } from '../../scripts/gen-schema.js';
import { tempDir } from '../helpers/server.js';

let dir: string;
let prefix: string; // an empty npm global prefix: factory-mcp is installed neither here nor globally
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = tempDir('factory-init-');
  prefix = tempDir('factory-init-prefix-');
  env = { ...process.env, npm_config_prefix: prefix };
  fs.mkdirSync(path.join(dir, '.git'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(prefix, { recursive: true, force: true });
});

const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const CLI = path.join(packageRoot(), 'dist', 'src', 'cli.js');

describe('factory-mcp init', () => {
  it('on an empty repository writes the config with its $schema and both client configs (not installed: the absolute fallback)', () => {
    const r = initRepository(dir, { env });
    expect(r.via).toBe('absolute');
    expect(r.files.map((f) => [path.relative(dir, f.path), f.action])).toEqual([
      ['factory.config.json', 'created'],
      ['.mcp.json', 'created'],
      [path.join('.cursor', 'mcp.json'), 'created'],
    ]);
    const config = read('factory.config.json');
    expect(fs.existsSync(path.resolve(dir, config.$schema))).toBe(true);
    expect(loadConfig(dir)).toMatchObject({ lease_seconds: 7200 }); // the written file validates
    expect(read('.mcp.json').mcpServers.factory).toEqual({ type: 'stdio', command: 'node', args: [CLI] });
    expect(read('.cursor/mcp.json').mcpServers.factory.args).toEqual([CLI]);
    expect(r.claudeUserScope).toBe(`claude mcp add --scope user factory -- node ${CLI}`);
  });

  it('keeps other servers and other keys in existing client configs', () => {
    fs.writeFileSync(path.join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { github: { command: 'gh-mcp' } }, other: 1 }));
    fs.mkdirSync(path.join(dir, '.cursor'));
    fs.writeFileSync(path.join(dir, '.cursor', 'mcp.json'), JSON.stringify({ mcpServers: { linear: { url: 'https://mcp.linear.app/sse' } } }));
    const r = initRepository(dir, { env });
    expect(r.files.map((f) => f.action)).toEqual(['created', 'updated', 'updated']);
    expect(read('.mcp.json')).toMatchObject({ other: 1, mcpServers: { github: { command: 'gh-mcp' }, factory: { command: 'node' } } });
    expect(Object.keys(read('.cursor/mcp.json').mcpServers)).toEqual(['linear', 'factory']);
  });

  // Issue 16: an entry that differs is reported as "differs" (it was "kept"), one that matches as "current".
  it('reports an existing factory entry that differs, replaces it only when forced, and says when it is current', () => {
    fs.writeFileSync(path.join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { factory: { command: 'custom' } } }));
    expect(initRepository(dir, { env }).files[1]!.action).toBe('differs');
    expect(read('.mcp.json').mcpServers.factory).toEqual({ command: 'custom' });
    initRepository(dir, { force: true, env });
    expect(read('.mcp.json').mcpServers.factory.command).toBe('node');
    expect(initRepository(dir, { env }).files.map((f) => f.action)).toEqual(['kept', 'current', 'current']);
  });

  it('an invalid existing file is an error naming it, and nothing is written', () => {
    fs.mkdirSync(path.join(dir, '.cursor'));
    fs.writeFileSync(path.join(dir, '.cursor', 'mcp.json'), '{ not json');
    expect(() => initRepository(dir, { env })).toThrow(/\.cursor\/mcp\.json: not valid JSON/);
    expect(fs.existsSync(path.join(dir, 'factory.config.json'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '.mcp.json'))).toBe(false);
  });

  it('the committed JSON Schema matches the zod config schema (run `npm run schema` after changing it)', () => {
    expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(configJsonSchema());
  });
});
