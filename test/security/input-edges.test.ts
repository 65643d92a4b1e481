import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { tempDir, textOf } from '../helpers/server.js';
import { CLI, rawStdio, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Finding 12.11: odd input gets an error naming the field (or the limit), changes nothing, and the
// server keeps answering. Every case goes through a real `factory-mcp` process.

const exec = promisify(execFile);
let dir: string;
let db: string;
let repo: TestRepo;
let agent: StdioAgent | null;

beforeEach(() => {
  dir = tempDir('factory-edges-');
  db = path.join(dir, 'factory.db');
  repo = makeRepo();
  agent = null;
});
afterEach(async () => {
  await agent?.close().catch(() => {});
  repo.remove();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every row of every table, read through a separate read-only connection. */
function dump(): string {
  const d = new Database(db, { readonly: true });
  try {
    const tables = d.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    return JSON.stringify(tables.map((t) => [t.name, d.prepare(`SELECT * FROM "${t.name}"`).all()]));
  } finally {
    d.close();
  }
}

async function start(): Promise<StdioAgent> {
  agent = await stdioAgent(db, { cwd: repo.dir });
  await agent.call('session_start', { agent: 'edges' });
  return agent;
}

/** The call is an error result naming `field`, nothing was written, and the server still answers. */
async function refused(a: StdioAgent, tool: string, args: Record<string, unknown>, field: RegExp): Promise<void> {
  const before = dump();
  const r = await a.raw(tool, args);
  expect(r.isError, JSON.stringify(r)).toBe(true);
  expect(textOf(r)).toMatch(field);
  expect(textOf(r)).not.toMatch(/\n\s+at /); // no stack trace
  expect(dump()).toBe(before);
  expect((await a.call<{ megas: unknown[] }>('board')).megas).toBeDefined();
}

/** A raw stdio child, initialized, for traffic the SDK client would never send. */
async function rawSession(): Promise<ReturnType<typeof rawStdio>> {
  const raw = rawStdio(db);
  raw.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }));
  expect(await raw.next()).toMatchObject({ id: 1 });
  raw.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  raw.send(JSON.stringify({ jsonrpc: '2.0', id: 'ping', method: 'ping' })); // answered once the notification is handled
  expect(await raw.next()).toMatchObject({ id: 'ping' });
  return raw;
}

describe('input edges (12.11)', () => {
  it('a NUL byte in base, head or cwd of classify_change is named, not a crash inside git', async () => {
    const a = await start();
    await refused(a, 'classify_change', { base: 'main\u0000--output=/tmp/x' }, /\bbase\b/);
    await refused(a, 'classify_change', { head: 'HEAD\u0000' }, /\bhead\b/);
    await refused(a, 'classify_change', { cwd: `${repo.dir}\u0000` }, /\bcwd\b/);
    await refused(a, 'check_dod', { cwd: `${repo.dir}\u0000`, only: ['lint'] }, /\bcwd\b/);
  });

  it('log_operation.data nested thousands of levels deep is refused naming the field', async () => {
    // The SDK client cannot even serialize such an object, so the call goes in as raw JSON-RPC text.
    const raw = await rawSession();
    try {
      const before = dump();
      const depth = 5000;
      const data = `${'{"d":'.repeat(depth)}1${'}'.repeat(depth)}`;
      raw.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"log_operation","arguments":{"kind":"note","message":"deep","data":${data}}}}`);
      const r = (await raw.next()) as { id: number; result: { isError?: boolean; content: { text: string }[] } };
      expect(r.id).toBe(2);
      expect(r.result.isError).toBe(true);
      expect(r.result.content[0]?.text).toMatch(/\bdata\b.*(deep|levels|nest)/i);
      expect(dump()).toBe(before);
      // A modestly nested object is still fine, in the same process.
      raw.send(
        JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'log_operation', arguments: { kind: 'note', message: 'shallow', data: { a: { b: { c: [1, { d: 2 }] } } } } } }),
      );
      const ok = (await raw.next()) as { id: number; result: { isError?: boolean; structuredContent: { seq: number } } };
      expect(ok.result.isError).toBeFalsy();
      expect(ok.result.structuredContent.seq).toBeGreaterThan(0);
    } finally {
      await raw.close();
    }
  });

  it('a malformed percent-escape in a resource URI is invalid params naming the URI', async () => {
    const a = await start();
    const uri = 'factory://mega/%E0%A4%A';
    for (const op of [() => a.client.readResource({ uri }), () => a.client.subscribeResource({ uri })]) {
      const e = await op().then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(McpError);
      expect((e as McpError).code).toBe(-32602);
      expect((e as McpError).message).toContain(uri);
    }
    expect((await a.client.readResource({ uri: 'factory://board' })).contents).toHaveLength(1);
  });

  it('additions too large to add up are refused naming the file and field', async () => {
    const a = await start();
    await refused(
      a,
      'classify_change',
      {
        files: [
          { path: 'a.ts', additions: 1e308, deletions: 0 },
          { path: 'b.ts', additions: 1e308, deletions: 0 },
        ],
      },
      /files\[0\]\.additions/,
    );
    await refused(a, 'classify_change', { files: [{ path: 'a.ts', additions: 1, deletions: 2 ** 53 }] }, /files\[0\]\.deletions/);
  });

  it('factory-mcp import of a claim file with completed_at 1e300 names the field, exits 2 and writes nothing', async () => {
    // A database that exists already, so "nothing written" is a comparison.
    const a = await start();
    await a.close();
    agent = null;
    const before = dump();
    const file = path.join(dir, 'claims.json');
    for (const [field, value] of [
      ['completed_at', 1e300],
      ['claimed_at', -1e300],
      ['completed_at', 8.64e15 + 1],
    ] as const) {
      fs.writeFileSync(file, JSON.stringify({ mega: 'EDGE-1', phases: [{ id: 1, name: 'one', owner: 't1', [field]: value }] }));
      const r = await exec(process.execPath, [CLI, 'import', file], { cwd: repo.dir, env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' } }).then(
        (x) => ({ code: 0, ...x }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`phases\\[0\\]\\.${field}`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(dump()).toBe(before);
    }
  });

  it('a stdio message over the 10 MiB limit is answered with an error naming the limit, and the server keeps serving', async () => {
    const raw = await rawSession();
    try {
      const huge = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'log_operation', arguments: { kind: 'note', message: 'x'.repeat(11 * 1024 * 1024) } } });
      raw.send(huge);
      const err = (await raw.next()) as { error?: { code: number; message: string } };
      expect(err.error?.message).toMatch(/10485760 bytes|10 MiB/);
      raw.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'board', arguments: {} } }));
      const board = (await raw.next()) as { id: number; result?: { structuredContent?: unknown } };
      expect(board.id).toBe(3);
      expect(board.result?.structuredContent).toBeDefined();
      expect(raw.child.exitCode).toBeNull();
      expect(dump()).not.toContain('x'.repeat(1000));
    } finally {
      await raw.close();
    }
  });
});
