import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { useHarness, tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/stdio.js';
import { Store } from '../../src/core/store.js';
import { ClaimFileSchema } from '../../schemas/sessions.js';
import { exportState } from '../../src/transfer/export.js';
import { GENESIS_HASH, operationHash, operationLine } from '../../src/core/oplog.js';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runCli(args, { cwd: process.cwd(), env: { ...process.env, FACTORY_LOG: 'silent', ...env } });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

const h = useHarness();

async function someHistory(): Promise<void> {
  const a = await h.connect();
  await a.call('session_start', { agent: 'claude-code' });
  await a.call('plan_mega', {
    key: 'L-1',
    title: 'Log',
    phases: [
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ],
  });
  const c = await a.call<{ token: string }>('claim_phase', { mega: 'L-1', phase: 1 });
  await a.call('checkpoint', { mega: 'L-1', phase: 1, token: c.token, progress: { done: ['a'], next: ['b'], percent: 50 } });
  await a.call('memory', { op: 'append', section: 'status', text: 'phase 1 half done' });
  await a.call('complete_phase', { mega: 'L-1', phase: 1, token: c.token });
  await a.call('session_end', { summary: 'done for now' });
}

describe('factory-mcp log', () => {
  it('prints the log and verifies an intact chain', async () => {
    await someHistory();
    const printed = await cli(['log', '--db', h.dbFile, '--limit', '3']);
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim().split('\n')).toHaveLength(3);
    expect(printed.stdout).toMatch(/session_end - SESSION-END t\d+: done for now\n$/);
    const ok = await cli(['log', '--verify', '--db', h.dbFile]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^ok: 7 entries, hash chain intact/);
  });

  it('names an entry edited by hand in the database file', async () => {
    await someHistory();
    const raw = new Database(h.dbFile);
    expect(() => raw.prepare("UPDATE operations SET message = 'nothing happened' WHERE seq = 4").run()).toThrow(/append-only/);
    raw.exec('DROP TRIGGER operations_no_update');
    raw.prepare("UPDATE operations SET message = 'nothing happened' WHERE seq = 4").run();
    raw.close();
    const r = await cli(['log', '--verify', '--db', h.dbFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/TAMPERED: entry #4 edited/);
    expect((await h.store.operations.verify()).problem).toMatchObject({ seq: 4, problem: 'edited' });
  });

  it('names an entry deleted by hand, and one whose link was rewritten', async () => {
    await someHistory();
    const raw = new Database(h.dbFile);
    raw.exec('DROP TRIGGER operations_no_delete; DROP TRIGGER operations_no_update');
    raw.prepare('DELETE FROM operations WHERE seq = 3').run();
    raw.close();
    const r = await cli(['log', '--verify', '--json', '--db', h.dbFile]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problem: { seq: 3, problem: 'deleted' } });
    // Renumbering to close the gap breaks the next link instead.
    const raw2 = new Database(h.dbFile);
    raw2.prepare('UPDATE operations SET seq = seq - 1 WHERE seq > 3').run();
    raw2.close();
    expect((await h.store.operations.verify()).problem).toMatchObject({ seq: 3 });
  });

  it('names the last entry when it is deleted by hand', async () => {
    await someHistory();
    const last = await h.store.operations.lastSeq();
    const raw = new Database(h.dbFile);
    raw.exec('DROP TRIGGER operations_no_delete');
    raw.prepare('DELETE FROM operations WHERE seq = ?').run(last);
    raw.close();
    const r = await cli(['log', '--verify', '--db', h.dbFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`TAMPERED: entry #${last} deleted`);
  });
});

describe('the hash chain covers every stored field', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const dbFile = () => {
    dirs.push(tempDir());
    return path.join(dirs.at(-1) as string, 'factory.db');
  };

  /** A log of four entries in a fresh database file, every nullable field set on entry 2. */
  async function logFile(): Promise<string> {
    const file = dbFile();
    const s = await Store.open(file, { leaseSeconds: 7200 });
    await s.operations.append(1_000, { instance: 't1000', kind: 'session_start', message: 'SESSION-START t1000' });
    await s.operations.append(2_000, { instance: 't1000', kind: 'claim', mega: 'M-1', phase: '2', message: 'claimed M-1/2', data: { epoch: 1 } });
    await s.operations.append(3_000, { kind: 'note', message: 'no instance, no data' });
    await s.operations.append(4_000, { instance: 't1000', kind: 'session_end', message: 'SESSION-END t1000' });
    await s.close();
    return file;
  }

  it('catches an edit of each column of the operations table, found in the file itself', async () => {
    const columns = await (async () => {
      const raw = new Database(await logFile(), { readonly: true });
      try {
        return raw
          .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('operations')")
          .all()
          .map((c) => c.name);
      } finally {
        raw.close();
      }
    })();
    expect(columns).toEqual(expect.arrayContaining(['seq', 'ts', 'instance', 'kind', 'mega', 'phase', 'message', 'data', 'prev_hash', 'hash']));
    for (const column of columns) {
      const file = await logFile();
      const raw = new Database(file);
      raw.exec('DROP TRIGGER operations_no_update');
      const q = `"${column}"`;
      const changed = raw.prepare(`UPDATE operations SET ${q} = CASE WHEN ${q} IS NULL THEN 'x' WHEN typeof(${q}) = 'integer' THEN ${q} + 1000 ELSE ${q} || 'x' END WHERE seq = 2`).run().changes;
      raw.close();
      expect(changed, column).toBe(1);
      const s = await Store.open(file, { leaseSeconds: 7200 });
      try {
        const r = await s.operations.verify();
        expect(r.ok, `an edit of operations.${column} goes unnoticed`).toBe(false);
        expect(r.problem?.seq, column).toBe(2);
      } finally {
        await s.close();
      }
    }
  });

  it('hashes an entry as existing databases did (the chain format is unchanged)', async () => {
    const first = { seq: 1, ts: 1700000000000, instance: 't4821', kind: 'claim', mega: 'CAB-1290', phase: '2', message: 't4821 claimed CAB-1290/2 "api"', data: '{"epoch":1,"lease_seconds":7200}' };
    expect(operationHash(GENESIS_HASH, first)).toBe('fdf6c645b85b0c3cbd8a902a87157be3761b87ef0d263e15593c4840c03b8b4c');
    const second = { seq: 2, ts: 1700000000500, instance: null, kind: 'note', mega: null, phase: null, message: 'free text', data: null };
    expect(operationHash('fdf6c645b85b0c3cbd8a902a87157be3761b87ef0d263e15593c4840c03b8b4c', second)).toBe('286912a0c90a7b457e34ac7536a1f07f31089df9591df36cae69e24069ab1a0f');
    // And the store writes exactly that hash for that entry.
    const file = dbFile();
    const s = await Store.open(file, { leaseSeconds: 7200 });
    try {
      await s.operations.append(first.ts, { instance: first.instance, kind: first.kind, mega: first.mega, phase: first.phase, message: first.message, data: { epoch: 1, lease_seconds: 7200 } });
      await s.operations.append(second.ts, { kind: second.kind, message: second.message });
      expect((await s.operations.recent(2)).map((o) => o.hash)).toEqual([
        'fdf6c645b85b0c3cbd8a902a87157be3761b87ef0d263e15593c4840c03b8b4c',
        '286912a0c90a7b457e34ac7536a1f07f31089df9591df36cae69e24069ab1a0f',
      ]);
    } finally {
      await s.close();
    }
  });
});

describe('export and import', () => {
  it('export writes memory.md, plan.md, operations.log, checkpoints/ and megas/ matching the database', async () => {
    await someHistory();
    const dir = path.join(h.dir, 'out');
    const r = await cli(['export', '--db', h.dbFile, '--dir', dir]);
    expect(r.code).toBe(0);
    const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
    const ops = [];
    for await (const o of h.store.operations.iterate()) ops.push(o);
    expect(read('operations.log')).toBe(`${ops.map(operationLine).join('\n')}\n`);
    expect(read('operations.log')).toMatch(/SESSION-START[\s\S]*SESSION-END/);
    expect(read('memory.md')).toContain('- phase 1 half done — claude-code');
    expect(read('plan.md')).toMatch(/\| 1 \| one \| {2}\| {2}\| {2}\| done \| t\d+ \| 50% next: b \|/);
    const cps = fs.readdirSync(path.join(dir, 'checkpoints'));
    expect(cps).toEqual(['000001-L-1-1.json']);
    expect(JSON.parse(read(`checkpoints/${cps[0]}`))).toEqual((await h.store.checkpoints.all())[0]);
    expect(JSON.parse(read('megas/L-1.json'))).toMatchObject({
      mega: 'L-1',
      phases: [
        { id: 1, completed_at: expect.any(String) },
        { id: 2, completed_at: null },
      ],
    });
  });

  it('import of a claim file creates the MEGA with its completions and round-trips through export', async () => {
    const file = {
      mega: 'CAB-1290',
      title: 'Gateway rework',
      source: 'claims/CAB-1290.json',
      phases: [
        { id: 1, name: 'API + Gateway', points: 5, tickets: ['CAB-1350'], deps: [], owner: 't4821', claimed_at: '2026-11-20T09:00:00.000Z', completed_at: '2026-11-20T15:30:00.000Z' },
        { id: 2, name: 'Storage', points: 3, tickets: [], deps: [], owner: null, claimed_at: null, completed_at: null },
        { id: 'ui', name: 'UI', points: 2, tickets: ['CAB-1351'], deps: [1, 2], owner: null, claimed_at: null, completed_at: null },
      ],
    };
    const src = path.join(h.dir, 'CAB-1290.json');
    fs.writeFileSync(src, JSON.stringify(file));
    const r = await cli(['import', src, '--db', h.dbFile]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('imported CAB-1290: 3 phases, 1 completed');
    const board = (await h.store.phases.board('CAB-1290'))[0]!;
    expect(board.phases.map((p) => p.status)).toEqual(['done', 'ready', 'blocked']);
    expect(board.phases[0]).toMatchObject({ completed_by: 't4821', completed_at: '2026-11-20T15:30:00.000Z' });

    const out = tempDir();
    try {
      await exportState(h.store, out);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'megas', 'CAB-1290.json'), 'utf8'))).toEqual(file);
      // And the exported claim file imports into a fresh database to the same board.
      const other = await Store.open(path.join(out, 'again.db'), { leaseSeconds: 7200 });
      try {
        const again = await cli(['import', path.join(out, 'megas', 'CAB-1290.json'), '--db', path.join(out, 'again.db')]);
        expect(again.code).toBe(0);
        const strip = (m: Awaited<ReturnType<Store['phases']['board']>>) => m.map((x) => ({ ...x, phases: x.phases.map((p) => ({ ...p, checkpoint: undefined })) }));
        expect(strip(await other.phases.board())).toEqual(strip(await h.store.phases.board()));
      } finally {
        await other.close();
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
    // The import ran as its own CLI session, started and ended.
    expect(await h.store.sessionsService.interrupted('none', h.clock.now, 7200_000)).toEqual([]);
  });

  it('an open claim in the file becomes released history; a bad file names the field and writes nothing', async () => {
    const src = path.join(h.dir, 'X-1.json');
    fs.writeFileSync(src, JSON.stringify({ mega: 'X-1', phases: [{ id: 1, name: 'a', owner: 't1234', claimed_at: '2026-11-20T09:00:00Z' }] }));
    expect((await cli(['import', src, '--db', h.dbFile])).code).toBe(0);
    expect((await h.store.phases.board('X-1'))[0]?.phases[0]?.status).toBe('ready');
    expect((await h.store.operations.recent(5)).find((o) => o.kind === 'release')?.data).toMatchObject({ reason: 'imported', previous_owner: 't1234' });
    const seq = await h.store.operations.lastSeq();
    fs.writeFileSync(src, JSON.stringify({ mega: 'X-2', phases: [{ id: 1, name: 'a', completed_at: 'yesterday' }] }));
    const bad = await cli(['import', src, '--db', h.dbFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('phases[0].completed_at');
    expect(await h.store.operations.lastSeq()).toBe(seq);
  });
});

describe('importing a claim file over a live database', () => {
  const PLAN = { key: 'R-1', title: 'review', phases: [1, 2, 3, 4].map((id) => ({ id, name: `phase ${id}`, deps: id === 4 ? [1] : [] })) };

  it('importing a claim file keeps live claims and recorded completions as the database has them', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<{ token: string; owner: string }>('claim_phase', { mega: 'R-1', phase: 1 });
    await a.call('complete_phase', { mega: 'R-1', phase: 1, token: c1.token });
    const c4 = await a.call<{ token: string }>('claim_phase', { mega: 'R-1', phase: 4 });
    const file = ClaimFileSchema.parse({
      mega: 'R-1',
      phases: PLAN.phases.map((p) => ({ ...p, owner: 'x', claimed_at: '2026-11-01T10:00:00Z', completed_at: '2026-11-01T11:00:00Z' })),
    });
    const r = await h.store.imports.importClaimFile('t0001', file, h.clock.now);
    expect(r.kept).toEqual([1, 4]);
    expect(r.completed).toBe(2);
    const board = (await h.store.phases.board('R-1'))[0]!.phases;
    expect(board.find((p) => p.id === 1)).toMatchObject({ status: 'done', completed_by: c1.owner });
    expect(board.find((p) => p.id === 4)).toMatchObject({ status: 'claimed' });
    expect(await a.call('heartbeat', { mega: 'R-1', phase: 4, token: c4.token })).toMatchObject({ ok: true });
  });
});

describe('resource subscriptions', () => {
  it('notifies a subscribed client of changes made by another process on the same database', async () => {
    const a = await h.connect();
    const got: string[] = [];
    a.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      got.push(n.params.uri);
    });
    await a.client.subscribeResource({ uri: 'factory://board' });
    await a.client.subscribeResource({ uri: 'factory://memory' });
    await expect(a.client.subscribeResource({ uri: 'factory://nope' })).rejects.toThrow(/unknown resource/);
    // Another connection, as another process would have.
    const other = await Store.open(h.dbFile, { leaseSeconds: 7200 });
    try {
      await other.phases.plan('t9999', { key: 'S-1', title: 'Sub', phases: [{ id: 1, name: 'one' }] }, Date.now());
      await waitFor(() => got.includes('factory://board'));
      expect(got).not.toContain('factory://memory');
      await other.sessionsService.memory('t9999', { op: 'append', section: 'status', text: 'hello' }, Date.now());
      await waitFor(() => got.includes('factory://memory'));
      await a.client.unsubscribeResource({ uri: 'factory://board' });
      const n = got.length;
      await other.phases.plan('t9999', { key: 'S-2', title: 'Sub 2', phases: [{ id: 1, name: 'one' }] }, Date.now());
      await new Promise((r) => setTimeout(r, 700));
      expect(got.length).toBe(n);
    } finally {
      await other.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
