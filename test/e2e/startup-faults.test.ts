import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store.js';
import { tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/stdio.js';

// Finding 13.7: a fault at start-up is one line on stderr naming the file or port and what to do,
// exit status 2, and nothing written. Each case runs the real CLI.

let dir: string;
beforeEach(() => {
  dir = tempDir('factory-faults-');
});
afterEach(() => {
  fs.chmodSync(dir, 0o755);
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI; as root (who ignores file modes) the read-only cases run as `nobody` through setpriv. */
async function cli(args: string[], opts: { unprivileged?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const asNobody = opts.unprivileged && process.getuid?.() === 0;
  const prefix = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  const r = await runCli(args, { cwd: dir, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: '' }, prefix });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir` with its bytes' hash: "nothing written" is this staying the same. */
function files(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

function expectOneLine(r: { code: number; stderr: string }, ...parts: (string | RegExp)[]): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const p of parts) expect(lines[0]).toMatch(p);
}

/** A sound database with a MEGA of 400 phases, checkpointed into the main file. */
async function goodDb(file: string): Promise<void> {
  const s = await Store.open(file, { leaseSeconds: 7200 });
  await s.phases.plan(
    't1',
    { key: 'C-1', title: 'c', source: 'test', phases: Array.from({ length: 400 }, (_, i) => ({ id: i + 1, name: `phase ${i + 1} ${'n'.repeat(50)}`, tickets: [], deps: [] })) },
    Date.UTC(2026, 10, 25),
  );
  s.db.pragma('wal_checkpoint(TRUNCATE)');
  await s.close();
}

describe('start-up faults (13.7)', () => {
  it('a database file of random bytes: one line naming it, exit 2, the file untouched', async () => {
    const db = path.join(dir, 'factory.db');
    fs.writeFileSync(db, crypto.randomBytes(64 * 1024));
    const before = files();
    for (const args of [['status'], ['log', '--verify'], ['stdio']]) {
      const r = await cli([...args, '--db', db]);
      expectOneLine(r, db, /not a SQLite database/, /move it aside|--db/);
      expect(files()).toBe(before);
    }
  });

  it('a corrupted page: status names the file; log --verify checks the pages and fails too', async () => {
    const db = path.join(dir, 'factory.db');
    await goodDb(db);
    expect((await cli(['log', '--verify', '--db', db])).code).toBe(0);
    // Overwrite the root page of the phases table (the log's pages stay intact, so the hash chain still verifies).
    const check = await Store.open(db, { leaseSeconds: 7200 });
    const root = (check.db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'phases'").get() as { rootpage: number }).rootpage;
    const pageSize = check.db.pragma('page_size', { simple: true }) as number;
    await check.close();
    const fd = fs.openSync(db, 'r+');
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    fs.closeSync(fd);
    const before = files();
    expectOneLine(await cli(['status', '--db', db]), db, /corrupt/, /backup/);
    expect(files()).toBe(before);
    const verify = await cli(['log', '--verify', '--db', db]);
    expectOneLine(verify, db, /CORRUPT/);
    expect(verify.stdout).not.toMatch(/^ok/);
    expect(files()).toBe(before);
  });

  it('a directory where the database cannot be created: one line naming it, exit 2, nothing created', async () => {
    fs.chmodSync(dir, 0o555);
    const db = path.join(dir, '.factory', 'factory.db');
    const r = await cli(['status', '--db', db], { unprivileged: true });
    expectOneLine(r, path.join(dir, '.factory'), /cannot create or write/, /writable/);
    expect(fs.readdirSync(dir)).toEqual([]);
    // The folder exists but is read-only: SQLite cannot create the file in it.
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(path.join(dir, 'ro'), { mode: 0o555 });
    fs.chmodSync(path.join(dir, 'ro'), 0o555);
    const inRo = path.join(dir, 'ro', 'factory.db');
    const r2 = await cli(['status', '--db', inRo], { unprivileged: true });
    expectOneLine(r2, inRo, /cannot create or write/);
    expect(fs.readdirSync(path.join(dir, 'ro'))).toEqual([]);
  });

  it('a port already in use: one line naming the port, exit 2, the database untouched', async () => {
    const db = path.join(dir, 'factory.db');
    await goodDb(db);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const before = files();
      const r = await cli(['http', '--port', String(port), '--db', db]);
      expectOneLine(r, new RegExp(`port ${port}\\b`), /already in use/, /--port/);
      expect(files()).toBe(before);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
