import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

/** Liveness across real processes (issue 13): no ghost sessions, parked claims, dead server processes. */

const agents: StdioAgent[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dirFor(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function agent(db: string, opts: { name?: string; env?: Record<string, string>; cwd?: string; args?: string[] } = {}): Promise<StdioAgent> {
  const a = await stdioAgent(db, { cwd: path.dirname(db), ...opts });
  agents.push(a);
  return a;
}

function rows(db: string, sql: string): Record<string, unknown>[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    d.close();
  }
}

describe('sessions exist only once a client needs an identity', () => {
  it('20 health-check connections (initialize, tools/list, a resource, board, disconnect) leave no session and no interrupted report', async () => {
    const dir = dirFor('factory-live-');
    const db = path.join(dir, 'factory.db');
    const w = await agent(db);
    await w.call('plan_mega', { key: 'H-1', title: 'Health', phases: [{ id: 1, name: 'one' }] });
    await w.call('session_end', {});
    await w.close();
    const before = rows(db, 'SELECT instance FROM sessions');
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          const a = await stdioAgent(db, { cwd: dir, name: 'claude-code-health' });
          await a.client.listTools();
          await a.client.readResource({ uri: 'factory://board' });
          await a.call('board', {});
          await a.close();
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(rows(db, 'SELECT instance FROM sessions')).toEqual(before);
    expect(rows(db, "SELECT seq FROM operations WHERE kind IN ('session_start', 'session_end')")).toHaveLength(2);
    const next = await agent(db);
    const s = await next.call<{ crashed: unknown[]; crashed_total: number }>('session_start', { agent: 'next' });
    expect(s).toMatchObject({ crashed: [], crashed_total: 0 });
  });

  it('a session that holds nothing and leaves without session_end is not reported as interrupted', async () => {
    const dir = dirFor('factory-live-');
    const db = path.join(dir, 'factory.db');
    const a = await agent(db);
    await a.call('session_start', { agent: 'brief' });
    await a.call('memory', { op: 'append', section: 'status', text: 'looked around' });
    await a.close();
    await new Promise((r) => setTimeout(r, 200));
    const b = await agent(db);
    expect(await b.call('session_start', {})).toMatchObject({ crashed: [], crashed_total: 0 });
  });

  it('outside a git repository the server creates no database until a write, then names it in the answer and on stderr', async () => {
    const dir = dirFor('factory-nogit-');
    const a = await stdioAgent('', { cwd: dir, env: { FACTORY_DB: '', FACTORY_LOG: 'info' } });
    agents.push(a);
    let stderr = '';
    a.transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await a.client.listTools();
    await a.client.readResource({ uri: 'factory://board' });
    expect(await a.call('board', {})).toMatchObject({ megas: [] });
    expect(fs.readdirSync(dir)).toEqual([]);

    const file = path.join(fs.realpathSync(dir), '.factory', 'factory.db');
    const r = await a.raw('plan_mega', { key: 'N-1', title: 'No git', phases: [{ id: 1, name: 'one' }] });
    expect(r.isError).toBeFalsy();
    const text = (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
    expect(text).toContain(`created its database at ${file}`);
    expect(fs.existsSync(file)).toBe(true);
    expect(await a.call('board', {})).toMatchObject({ megas: [{ key: 'N-1' }] });
    await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain(file);
    expect(rows(file, 'SELECT key FROM megas')).toEqual([{ key: 'N-1' }]);
  });
});
