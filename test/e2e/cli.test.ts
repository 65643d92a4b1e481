import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/core/migrations.js';
import { tempDir } from '../helpers/server.js';
import { runCli, stdioAgent } from '../helpers/stdio.js';
import { runDemo } from '../../scripts/demo.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('factory-cli-');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runCli(args, { cwd: opts.cwd ?? dir, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: '', ...opts.env } });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('factory-mcp CLI', () => {
  it('prints help for the program and for every command', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}(\w[\w-]*) {2,}/gm)].map((m) => m[1] as string);
    expect(commands).toContain('status');
    for (const c of commands) {
      const r = await cli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/factory-mcp/);
    }
  });

  it('rejects an unknown command or flag with usage on stderr', async () => {
    expect(await cli(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(await cli(['status', '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
  });

  it('defaults the database to .factory/factory.db at the git root, with a .gitignore, and status shows the board', async () => {
    fs.mkdirSync(path.join(dir, '.git'));
    fs.mkdirSync(path.join(dir, 'sub', 'deep'), { recursive: true });
    const db = path.join(dir, '.factory', 'factory.db');
    const a = await stdioAgent('', { cwd: path.join(dir, 'sub', 'deep'), env: { FACTORY_DB: '' } });
    await a.call('plan_mega', { key: 'ST-1', title: 'Status board', phases: [{ id: 1, name: 'Only phase', points: 3 }] });
    await a.call('claim_phase', { mega: 'ST-1', phase: 1 });
    await a.close();
    expect(fs.existsSync(db)).toBe(true);
    expect(fs.readFileSync(path.join(dir, '.factory', '.gitignore'), 'utf8')).toContain('*');
    const r = await cli(['status'], { cwd: path.join(dir, 'sub') });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ST-1  Status board');
    expect(r.stdout).toMatch(/▶ 1 +Only phase +3 pts +claimed by t\d+/);
    const json = JSON.parse((await cli(['status', '--json', '--db', db])).stdout);
    expect(json.megas[0].phases[0]).toMatchObject({ id: 1, status: 'claimed' });
  });

  it('refuses a database newer than the code, changing nothing', async () => {
    const db = path.join(dir, 'new.db');
    const d = new Database(db);
    d.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    d.close();
    const r = await cli(['status', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this factory-mcp knows \\(${SCHEMA_VERSION}\\)`));
    const after = new Database(db);
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    after.close();
  });

  it('an invalid factory.config.json is an error naming the key', async () => {
    fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify({ lease_seconds: 'long', colour: 'red' }));
    const r = await cli(['status', '--db', path.join(dir, 'x.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/factory\.config\.json: .*lease_seconds/);
  });

  it('the demo over HTTP: four agents finish the twelve-phase MEGA, every phase exactly once', async () => {
    const lines: string[] = [];
    const { reports, board, url } = await runDemo({ msPerPoint: 2, out: (s) => lines.push(s) });
    expect(lines[0]).toContain(`dashboard: ${url}/`);
    expect(new Set(reports.map((r) => r.instance)).size).toBe(4);
    expect(reports).toHaveLength(4);
    const ids = reports
      .flatMap((r) => r.phases)
      .map(Number)
      .sort((a, b) => a - b);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(board[0]).toMatchObject({ done: 12, total: 12 });
    expect(lines.join('\n')).toMatch(/12 phases completed exactly once by 4 agents/);
  });

  it('the demo with --stdio: each agent its own process, same result', async () => {
    const { reports, board } = await runDemo({ transport: 'stdio', msPerPoint: 2, out: () => {} });
    expect(reports.flatMap((r) => r.phases)).toHaveLength(12);
    expect(board[0]).toMatchObject({ done: 12, total: 12 });
  });
});
