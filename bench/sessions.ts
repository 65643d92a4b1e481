/**
 * Sessions bench: session_start on a database with 1,000 past sessions and 100,000 log entries
 * against session_start on an empty database (target ≤ 2×), both against an MCP ping floor
 * measured in the same run; and `log --verify` of 100,000 entries (target < 1 s), as entries/s.
 *
 *   npm run build && node dist/bench/sessions.js
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { parseConfig } from '../src/config.js';
import { createServer } from '../src/server.js';
import { writeTx } from '../src/store/db.js';
import { Store } from '../src/store/index.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const config = parseConfig({});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timeCalls(store: Store, dir: string, n: number, first: Record<string, unknown> = {}): Promise<{ ping: number; start: number }> {
  const server = createServer({ store, config, root: dir, session: { transport: 'memory', pid: null }, env: {} });
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.server.connect(b), client.connect(a)]);
  await client.callTool({ name: 'session_start', arguments: { agent: 'bench', ...first } });
  const ping: number[] = [];
  const start: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await client.ping();
    ping.push(performance.now() - t);
    t = performance.now();
    const r = await client.callTool({ name: 'session_start', arguments: {} });
    start.push(performance.now() - t);
    if (r.isError) throw new Error(JSON.stringify(r.content));
  }
  await client.close();
  server.cleanup();
  return { ping: median(ping), start: median(start) };
}

/** 1,000 past sessions (980 ended, 20 interrupted, each with a claim and a checkpoint) and 100,000 log entries. */
function fill(store: Store): void {
  const now = Date.now() - 3600_000;
  writeTx(store.db, () => {
    store.phases.plan('t1000', { key: 'B-1', title: 'Bench', phases: Array.from({ length: 40 }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}` })) }, now);
    for (let i = 0; i < 1000; i++) {
      const s = store.sessions.create({ transport: 'memory', pid: null, agent: `agent-${i % 7}` }, now + i);
      store.operations.append(now + i, { instance: s.instance, kind: 'session_start', message: `SESSION-START ${s.instance}` });
      if (i < 980) store.continuity.end(s.instance, { summary: `session ${i}` }, now + i);
      else {
        const c = store.phases.claim(s.instance, { mega: 'B-1', phase: i - 979 }, now + i);
        store.continuity.checkpoint(s.instance, { mega: 'B-1', phase: i - 979, token: c.token, progress: { done: ['a'], next: ['b'], percent: 50 } }, now + i);
        store.sessions.markDisconnected(s.instance, now + i);
      }
    }
    let n = store.operations.lastSeq();
    while (n < 100_000) n = store.operations.append(now + n, { instance: 't1000', kind: 'note', message: `entry ${n}`, data: { n } });
  });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-sessions-'));
  try {
    const empty = Store.open(path.join(dir, 'empty.db'), { leaseSeconds: 7200 });
    const bigFile = path.join(dir, 'big.db');
    const big = Store.open(bigFile, { leaseSeconds: 7200 });
    let t = performance.now();
    fill(big);
    const fillMs = performance.now() - t;
    const n = 300;
    const e = await timeCalls(empty, dir, n);
    const c = await timeCalls(big, dir, n); // 20 crashed sessions reported on every call
    const f = await timeCalls(big, dir, n, { resume: true }); // after adopting them: 1,000 past sessions, none pending
    t = performance.now();
    const v = big.operations.verify();
    const verifyMs = performance.now() - t;
    if (!v.ok) throw new Error('chain broken');
    empty.close();
    big.close();
    t = performance.now();
    const child = spawnSync(process.execPath, [CLI, 'log', '--verify', '--db', bigFile], { encoding: 'utf8' });
    const cliMs = performance.now() - t;
    const out = {
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), shared with other engineers' runs`,
      fill_ms: Math.round(fillMs),
      ping_floor_ms: +e.ping.toFixed(3),
      session_start_empty_ms: +e.start.toFixed(3),
      session_start_full_ms: +f.start.toFixed(3),
      full_vs_empty: +(f.start / e.start).toFixed(2),
      empty_vs_floor: +(e.start / e.ping).toFixed(2),
      full_vs_floor: +(f.start / f.ping).toFixed(2),
      session_start_20_crashed_ms: +c.start.toFixed(3),
      crashed_vs_empty: +(c.start / e.start).toFixed(2),
      verify_entries: v.entries,
      verify_ms: Math.round(verifyMs),
      verify_entries_per_s: Math.round(v.entries / (verifyMs / 1000)),
      cli_log_verify_ms: Math.round(cliMs),
      cli_output: child.stdout.trim(),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
