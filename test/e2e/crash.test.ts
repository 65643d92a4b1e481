import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dbTarget, tempDir } from '../helpers/server.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

const open: StdioAgent[] = [];
let dir = '';
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.client.close().catch(() => {})));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A real `factory-mcp` stdio server process on the database, with an MCP client attached. */
async function spawn(db: string, agent: string): Promise<StdioAgent> {
  const p = await stdioAgent(db, { name: agent, cwd: dir });
  open.push(p);
  return p;
}

describe('crash recovery across real processes', () => {
  it('a server killed with SIGKILL holding two claims and a checkpoint is reported, resumed, and its old tokens refused', async () => {
    dir = tempDir('factory-crash-');
    const db = await dbTarget(path.join(dir, 'factory.db'));
    const a = await spawn(db, 'claude-code');
    const sa = await a.call<{ instance: string }>('session_start', { agent: 'claude-code' });
    await a.call('plan_mega', {
      key: 'K-1',
      title: 'Crash',
      phases: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
        { id: 3, name: 'three', deps: [1, 2] },
      ],
    });
    const t1 = (await a.call<{ token: string }>('claim_phase', { mega: 'K-1', phase: 1 })).token;
    const t2 = (await a.call<{ token: string }>('claim_phase', { mega: 'K-1', phase: 2 })).token;
    await a.call('checkpoint', { mega: 'K-1', phase: 2, token: t2, progress: { done: ['schema'], next: ['migrations'], percent: 30, files: ['src/db.ts'] }, note: 'before lunch' });

    const pid = a.transport.pid as number;
    const gone = new Promise<void>((resolve) => {
      const before = a.transport.onclose;
      a.transport.onclose = () => {
        before?.();
        resolve();
      };
    });
    process.kill(pid, 'SIGKILL');
    await gone;

    const b = await spawn(db, 'cursor');
    const sb = await b.call<{
      instance: string;
      crashed: { instance: string; agent: string; why: string; last_checkpoint: { note: string; percent: number }; phases: { id: number; checkpoint: unknown }[] }[];
    }>('session_start', { agent: 'cursor' });
    expect(sb.crashed).toHaveLength(1);
    expect(sb.crashed[0]).toMatchObject({ instance: sa.instance, agent: 'claude-code', why: 'process_gone', last_checkpoint: { note: 'before lunch', percent: 30 } });
    expect(sb.crashed[0]?.phases.map((p) => p.id)).toEqual([1, 2]);
    expect(sb.crashed[0]?.phases[1]?.checkpoint).toMatchObject({ done: ['schema'], next: ['migrations'] });

    const r = await b.call<{ resumed: { from: string; phases: { id: number; token: string }[] }[] }>('session_start', { resume: true });
    expect(r.resumed).toHaveLength(1);
    expect(r.resumed[0]?.phases.map((p) => p.id)).toEqual([1, 2]);

    for (const [phase, token] of [
      [1, t1],
      [2, t2],
    ] as const) {
      expect(await b.call('heartbeat', { mega: 'K-1', phase, token })).toMatchObject({ ok: false, reason: 'stale_token' });
      expect(await b.call('complete_phase', { mega: 'K-1', phase, token })).toMatchObject({ completed: false, reason: 'stale_token' });
    }
    for (const p of r.resumed[0]!.phases) expect(await b.call('complete_phase', { mega: 'K-1', phase: p.id, token: p.token })).toMatchObject({ completed: true });
    const board = await b.call<{ megas: { phases: { status: string; completed_by: string | null }[] }[] }>('board', {});
    expect(board.megas[0]?.phases.map((p) => p.status)).toEqual(['done', 'done', 'ready']);
    expect(board.megas[0]?.phases[0]?.completed_by).toBe(sb.instance);
  });

  it('a stdio client that disconnects without session_end leaves an interrupted session whose claims stay held', async () => {
    dir = tempDir('factory-crash-');
    const db = await dbTarget(path.join(dir, 'factory.db'));
    const a = await spawn(db, 'aider');
    const sa = await a.call<{ instance: string }>('session_start', {});
    await a.call('plan_mega', { key: 'D-1', title: 'Disconnect', phases: [{ id: 1, name: 'one' }] });
    await a.call('claim_phase', { mega: 'D-1', phase: 1 });
    await a.client.close();

    const b = await spawn(db, 'zed');
    const sb = await b.call<{ crashed: { instance: string; why: string; phases: { id: number }[] }[] }>('session_start', {});
    expect(sb.crashed).toEqual([expect.objectContaining({ instance: sa.instance, why: 'disconnected', phases: [expect.objectContaining({ id: 1 })] })]);
    expect(await b.call('claim_phase', { mega: 'D-1', phase: 1 })).toMatchObject({
      claimed: false,
      reason: 'interrupted',
      owner: sa.instance,
      message: expect.stringContaining(`session_start {"resume":"${sa.instance}"}`),
    });
  });
});
