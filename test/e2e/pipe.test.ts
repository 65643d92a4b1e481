import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTx } from '../../src/core/db.js';
import { Store } from '../../src/core/store.js';
import { tempDir } from '../helpers/server.js';
import { CLI } from '../helpers/stdio.js';

/**
 * Issue 16: a command's output must survive a pipe. A pipe holds 64 KiB; what a command wrote
 * beyond that is still queued when it returns, and process.exit() would throw it away.
 */
const ENTRIES = 3000;
let dir: string;
let db: string;

beforeAll(async () => {
  dir = tempDir('factory-pipe-');
  db = path.join(dir, 'factory.db');
  const store = await Store.open(db, { leaseSeconds: 7200 });
  await writeTx(store.sql, async () => {
    for (let i = 0; i < ENTRIES; i++) await store.operations.append(Date.UTC(2026, 10, 25) + i, { instance: 't1234', kind: 'note', message: `entry ${i} ${'x'.repeat(200)}` });
  });
  await store.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with its stdout piped into a slow reader process (it sleeps before reading, so the pipe fills); the exit code is the CLI's. */
function throughPipe(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
    const child = spawn('bash', ['-c', `set -o pipefail; ${cmd} | { sleep 1; cat; }`], { env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks).toString('utf8') }));
  });
}

describe('output through a pipe larger than the pipe buffer', () => {
  it('log --json delivers every entry to a slow reader', async () => {
    const r = await throughPipe(['log', '--json', '--limit', String(ENTRIES)]);
    expect(r.code).toBe(0);
    expect(Buffer.byteLength(r.stdout)).toBeGreaterThan(256 * 1024);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(ENTRIES);
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ message: expect.stringMatching(/^entry 2999 /) });
  });

  it('a short answer after a long run arrives whole', async () => {
    const r = await throughPipe(['log', '--verify', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, entries: ENTRIES });
  });
});
