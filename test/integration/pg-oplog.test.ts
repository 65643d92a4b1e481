import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store.js';
import { freshDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/stdio.js';

/** The hash-chained operations log on PostgreSQL: many writers on many servers, one chain; tampering is found. */

const stores: Store[] = [];
async function open(url: string): Promise<Store> {
  const s = await Store.open(url, { leaseSeconds: 7200 });
  stores.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => {})));
});

async function history(url: string, writers = 3, each = 40): Promise<Store[]> {
  const servers = await Promise.all(Array.from({ length: writers }, () => open(url)));
  // Every server appends from several call chains at once: the chain must come out whole.
  await Promise.all(
    servers.flatMap((s, i) =>
      Array.from({ length: each }, (_, j) => s.tx(() => s.operations.append(1_000 + j, { kind: 'note', instance: `t${i}`, message: `server ${i} entry ${j}`, data: { i, j } }))),
    ),
  );
  return servers;
}

describe('the operations log on PostgreSQL', () => {
  it('three servers appending at once write one unbroken chain, numbered without a gap', async () => {
    const url = await freshDatabase();
    const [a, b] = await history(url);
    const r = await a!.operations.verify();
    expect(r).toEqual({ ok: true, entries: 120, problem: null });
    const seqs = (await b!.sql.prepare<[], { seq: number }>('SELECT seq FROM operations ORDER BY seq').all()).map((x) => x.seq);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(await b!.sql.prepare('SELECT seq FROM operations_head').get()).toEqual({ seq: 120 });
  });

  it('names an entry edited, deleted or cut off the end by someone who switched the triggers off', async () => {
    const url = await freshDatabase();
    const [a] = await history(url, 1, 6);
    const sql = a!.sql;
    await expect(sql.prepare("UPDATE operations SET message = 'nothing happened' WHERE seq = 4").run()).rejects.toThrow(/append-only/);
    await sql.exec('ALTER TABLE operations DISABLE TRIGGER USER');
    await sql.prepare("UPDATE operations SET message = 'nothing happened' WHERE seq = 4").run();
    expect((await a!.operations.verify()).problem).toMatchObject({ seq: 4, problem: 'edited' });
    await sql.prepare('DELETE FROM operations WHERE seq = 3').run();
    expect((await a!.operations.verify()).problem).toMatchObject({ seq: 3, problem: 'deleted' });
  });

  it('notices the last entries cut off (the head row remembers the end)', async () => {
    const url = await freshDatabase();
    const [a] = await history(url, 1, 5);
    await a!.sql.exec('ALTER TABLE operations DISABLE TRIGGER USER');
    await a!.sql.prepare('DELETE FROM operations WHERE seq = 5').run();
    const r = await a!.operations.verify();
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject({ seq: 5 });
  });
});

describe('factory-mcp log --verify, export and import on PostgreSQL', () => {
  const cli = async (args: string[], cwd: string) => {
    const r = await runCli(args, { cwd, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: '' } });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };

  it("verifies the chain and says the pages are PostgreSQL's; names a tampered entry (exit 1)", async () => {
    const url = await freshDatabase();
    const [a] = await history(url, 1, 4);
    const dir = tempDir();
    try {
      const ok = await cli(['log', '--verify', '--db', url], dir);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^ok: 4 entries, hash chain intact; pages not checked \(PostgreSQL\) \(\d+ ms\)\n$/);
      expect(JSON.parse((await cli(['log', '--verify', '--json', '--db', url], dir)).stdout)).toMatchObject({ ok: true, entries: 4, pages: 'not checked (PostgreSQL)' });
      await a!.sql.exec('ALTER TABLE operations DISABLE TRIGGER USER');
      await a!.sql.prepare("UPDATE operations SET message = 'rewritten' WHERE seq = 2").run();
      const bad = await cli(['log', '--verify', '--db', url], dir);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/TAMPERED: entry #2 edited/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports a claim file and exports the database to the same claim file and log', async () => {
    const url = await freshDatabase();
    const dir = tempDir();
    try {
      const file = {
        mega: 'CAB-1290',
        title: 'Gateway rework',
        source: 'claims/CAB-1290.json',
        phases: [
          { id: 1, name: 'API', points: 5, tickets: ['CAB-1350'], deps: [], owner: 't4821', claimed_at: '2026-11-20T09:00:00.000Z', completed_at: '2026-11-20T15:30:00.000Z' },
          { id: 'ui', name: 'UI', points: 2, tickets: [], deps: [1], owner: null, claimed_at: null, completed_at: null },
        ],
      };
      fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify(file));
      const imported = await cli(['import', path.join(dir, 'in.json'), '--db', url], dir);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain('imported CAB-1290: 2 phases, 1 completed');
      const exported = await cli(['export', '--db', url, '--dir', path.join(dir, 'out')], dir);
      expect(exported.code, exported.stderr).toBe(0);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'megas', 'CAB-1290.json'), 'utf8'))).toEqual(file);
      const s = await open(url);
      const lines = fs
        .readFileSync(path.join(dir, 'out', 'operations.log'), 'utf8')
        .trim()
        .split('\n');
      expect(lines).toHaveLength(await s.operations.lastSeq());
      expect((await s.operations.verify()).ok).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
