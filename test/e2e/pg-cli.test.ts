import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/stdio.js';
import { freshDatabase } from '../helpers/postgres.js';

let dir: string;
beforeEach(() => {
  dir = tempDir('factory-pgcli-');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runCli(args, { cwd: dir, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: '', PGPASSWORD: '', ...env } });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function oneLine(r: { code: number; stderr: string }): string {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

describe('choosing PostgreSQL from the command line (FACTORY_DB, --db, config database)', () => {
  it('an unreachable server, an unknown host or database: one line naming the host, exit 2, never the password', async () => {
    const port = await closedPort();
    const refused = oneLine(await cli(['status', '--db', `postgres://alice:s3cret-pw@127.0.0.1:${port}/factory`]));
    expect(refused).toContain(`127.0.0.1:${port}`);
    expect(refused).not.toContain('s3cret-pw');
    const unknown = oneLine(await cli(['status'], { FACTORY_DB: 'postgres://bob:hunter2-pw@nohost.invalid:5432/factory' }));
    expect(unknown).toContain('nohost.invalid');
    expect(unknown).not.toContain('hunter2-pw');
    const real = new URL(await freshDatabase());
    const missing = oneLine(await cli(['log', '--db', `postgres://${real.username}:not-the-pw@${real.host}/no_such_db`]));
    expect(missing).toContain(real.host);
    expect(missing).toContain('no_such_db');
    expect(missing).not.toContain('not-the-pw');
  });

  it('a config whose database holds a password is refused, naming the field; one without works: plan, status and log --verify from anywhere', async () => {
    const url = await freshDatabase();
    const withPw = url.replace('postgres://', 'postgres://postgres:pw-in-config@');
    fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify({ database: withPw }));
    const r = oneLine(await cli(['status']));
    expect(r).toMatch(/database/);
    expect(r).toMatch(/PGPASSWORD/);
    expect(r).not.toContain('pw-in-config');
    fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify({ database: url }));
    const plan = path.join(dir, 'plan.json');
    fs.writeFileSync(
      plan,
      JSON.stringify({
        key: 'PG-1',
        title: 'on postgres',
        phases: [
          { id: 1, name: 'one' },
          { id: 2, name: 'two', deps: [1] },
        ],
      }),
    );
    const planned = await cli(['plan', plan]);
    expect(planned.code, planned.stderr).toBe(0);
    const status = await cli(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const board = JSON.parse(status.stdout) as { megas: { key: string; total: number; ready: number; blocked: number }[] };
    expect(board.megas).toEqual([expect.objectContaining({ key: 'PG-1', total: 2, ready: 1, blocked: 1 })]);
    // The same database, reached by FACTORY_DB from another directory: one store, wherever the command runs.
    const elsewhere = tempDir('factory-pgcli-b-');
    try {
      const r2 = await runCli(['status', '--json'], { cwd: elsewhere, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: url } });
      expect(JSON.parse(r2.stdout).megas[0].key).toBe('PG-1');
      const verify = await runCli(['log', '--verify'], { cwd: elsewhere, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: url } });
      expect(verify.exitCode, verify.stderr).toBe(0);
      expect(verify.stdout).toMatch(/hash chain intact/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
