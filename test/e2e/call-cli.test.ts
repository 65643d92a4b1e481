import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/stdio.js';

/** `factory-mcp call`: every tool's terminal twin, through the MCP call path, in a real process on a real database. */
let dir: string;
let db: string;
beforeAll(() => {
  dir = tempDir('factory-call-');
  db = path.join(dir, 'factory.db');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const call = (tool: string, args?: unknown, more: string[] = []) =>
  runCli(['call', tool, '--db', db, ...(args === undefined ? [] : ['--args', JSON.stringify(args)]), ...more], { cwd: dir, env: { ...process.env, FACTORY_LOG: 'silent' } });
const json = async (tool: string, args?: unknown) => {
  const r = await call(tool, args, ['--json']);
  return { ...r, out: JSON.parse(r.stdout) as Record<string, unknown> };
};

describe('factory-mcp call TOOL', () => {
  it('plans, claims and reads the board through the tools, answers parsed from --json (exit 0)', async () => {
    const plan = await json('plan_mega', {
      key: 'M-1',
      title: 'CLI',
      phases: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two', deps: [1] },
      ],
    });
    expect(plan.exitCode).toBe(0);
    expect(plan.out).toMatchObject({ mega: 'M-1', phases: 2, ready: [1] });
    const claim = await json('claim_phase', { mega: 'M-1', phase: 1 });
    expect(claim.exitCode).toBe(0);
    expect(claim.out).toMatchObject({ claimed: true, phase: { mega: 'M-1', id: 1 }, token: expect.any(String) });
    const board = await json('board');
    expect(board.exitCode).toBe(0);
    expect(board.out).toMatchObject({
      megas: [
        {
          key: 'M-1',
          phases: [
            { id: 1, status: 'claimed' },
            { id: 2, status: 'blocked' },
          ],
        },
      ],
    });
  });

  it('a refusal is exit 1 with its reason; input the schema refuses is exit 2 naming the field', async () => {
    const refused = await json('claim_phase', { mega: 'M-1', phase: 2 });
    expect(refused.exitCode).toBe(1);
    expect(refused.out).toMatchObject({ claimed: false, reason: 'deps_unmet' });
    const text = await call('claim_phase', { mega: 'M-1', phase: 2 });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/deps_unmet/);
    const bad = await call('claim_phase', { mega: 5 });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/Invalid arguments for claim_phase: mega/);
    const notJson = await call('board', undefined, ['--args', '{nope']);
    expect(notJson.exitCode).toBe(2);
    expect(notJson.stderr).toMatch(/--args: not JSON/);
    const unknown = await call('no_such_tool');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown tool "no_such_tool" \(one of .*claim_phase/);
  });

  it('reads the arguments from a file (--args-file)', async () => {
    const file = path.join(dir, 'memory.json');
    fs.writeFileSync(file, JSON.stringify({ op: 'append', section: 'decisions', text: 'one call path for MCP and the CLI' }));
    expect((await call('memory', undefined, ['--args-file', file])).exitCode).toBe(0);
    const read = await json('memory', { op: 'read' });
    expect(JSON.stringify(read.out)).toContain('one call path for MCP and the CLI');
  });
});
