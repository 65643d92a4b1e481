/**
 * Sessions bench: session_start on a database with 1,000 past sessions and 100,000 log entries
 * against session_start on an empty database (target ≤ 2×), both against an MCP ping floor
 * measured in the same run; and `log --verify` of 100,000 entries (target < 1 s), as entries/s.
 * Liveness: session_start with 10,000 recorded server processes and their sessions against an
 * empty database (target ≤ 1.5×), and the CPU time of heartbeats: 50 server processes beating
 * every 10 s (the default) must cost ≤ 1 % of one core.
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
import { parseConfig } from '../src/core/config.js';
import { createServer } from '../src/mcp/server.js';
import { writeTx } from '../src/core/db.js';
import { Store } from '../src/core/store.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const config = parseConfig({});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timeCalls(store: Store, dir: string, n: number, first: Record<string, unknown> = {}): Promise<{ ping: number; start: number }> {
  store.attachServer({ transport: 'stdio', heartbeatMs: 10_000 }); // as a real server: sessions belong to it
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
  await server.cleanup();
  return { ping: median(ping), start: median(start) };
}

/** 1,000 past sessions (980 ended, 20 interrupted, each with a claim and a checkpoint) and 100,000 log entries. */
async function fill(store: Store): Promise<void> {
  const now = Date.now() - 3600_000;
  await writeTx(store.sql, async () => {
    await store.phases.plan('t1000', { key: 'B-1', title: 'Bench', phases: Array.from({ length: 40 }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}` })) }, now);
    for (let i = 0; i < 1000; i++) {
      const s = await store.sessions.create({ transport: 'memory', pid: null, agent: `agent-${i % 7}` }, now + i);
      await store.operations.append(now + i, { instance: s.instance, kind: 'session_start', message: `SESSION-START ${s.instance}` });
      if (i < 980) await store.sessionsService.end(s.instance, { summary: `session ${i}` }, now + i);
      else {
        const c = await store.phases.claim(s.instance, { mega: 'B-1', phase: i - 979 }, now + i);
        await store.sessionsService.checkpoint(s.instance, { mega: 'B-1', phase: i - 979, token: c.token, progress: { done: ['a'], next: ['b'], percent: 50 } }, now + i);
        await store.sessions.markDisconnected(s.instance, now + i);
      }
    }
    let n = await store.operations.lastSeq();
    while (n < 100_000) n = await store.operations.append(now + n, { instance: 't1000', kind: 'note', message: `entry ${n}`, data: { n } });
  });
}

/**
 * 10,000 server processes recorded over time and 10,000 sessions in them: 9,990 servers stopped
 * cleanly with their sessions ended; 10 killed (never marked stopped, their pids gone) whose
 * sessions were adopted since.
 */
async function fillServers(store: Store): Promise<void> {
  const now = Date.now() - 3600_000;
  await writeTx(store.sql, async () => {
    const server = store.sql.prepare('INSERT INTO servers (id, host, pid, pid_start, transport, started_at, heartbeat_at, heartbeat_ms, stopped_at) VALUES (?,?,?,?,?,?,?,?,?)');
    for (let i = 0; i < 10_000; i++) {
      const killed = i % 1000 === 0;
      const id = `sbench${i}`;
      await server.run(id, store.servers.host, 4_000_000 + i, now, i % 2 ? 'http' : 'stdio', now + i, now + i, 10_000, killed ? null : now + i + 500);
      const s = await store.sessions.create({ transport: i % 2 ? 'http' : 'stdio', pid: null, agent: `agent-${i % 7}`, server_id: id }, now + i);
      if (killed) await store.sessions.markAdopted(s.instance, 't0000', now + i + 1000);
      else await store.sessions.end(s.instance, now + i + 400, `session ${i}`);
    }
  });
}

/** CPU time (user + system) of one heartbeat, from `beats` heartbeats of one registered server. */
async function heartbeatCpuUs(store: Store, beats: number): Promise<number> {
  const id = await writeTx(store.sql, () => store.servers.register('stdio', 10_000, Date.now()));
  for (let i = 0; i < 200; i++) await store.servers.beat(id, Date.now()); // warm up
  const before = process.cpuUsage();
  for (let i = 0; i < beats; i++) await store.servers.beat(id, Date.now());
  const used = process.cpuUsage(before);
  return (used.user + used.system) / beats;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-sessions-'));
  try {
    const empty = await Store.open(path.join(dir, 'empty.db'), { leaseSeconds: 7200 });
    const bigFile = path.join(dir, 'big.db');
    const big = await Store.open(bigFile, { leaseSeconds: 7200 });
    let t = performance.now();
    await fill(big);
    const fillMs = performance.now() - t;
    const n = 300;
    const e = await timeCalls(empty, dir, n);
    const c = await timeCalls(big, dir, n); // 20 crashed sessions reported on every call
    const f = await timeCalls(big, dir, n, { resume: true }); // after adopting them: 1,000 past sessions, none pending
    const serversFile = path.join(dir, 'servers.db');
    const withServers = await Store.open(serversFile, { leaseSeconds: 7200 });
    await fillServers(withServers);
    const e2 = await timeCalls(await Store.open(path.join(dir, 'empty2.db'), { leaseSeconds: 7200 }), dir, n);
    const sv = await timeCalls(withServers, dir, n);
    const beatUs = await heartbeatCpuUs(withServers, 5000);
    await withServers.close();
    t = performance.now();
    const v = await big.operations.verify();
    const verifyMs = performance.now() - t;
    if (!v.ok) throw new Error('chain broken');
    await empty.close();
    await big.close();
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
      session_start_empty_again_ms: +e2.start.toFixed(3),
      session_start_10k_servers_ms: +sv.start.toFixed(3),
      servers_vs_empty: +(sv.start / e2.start).toFixed(2),
      heartbeat_cpu_us: +beatUs.toFixed(1),
      // 50 servers, one beat each per 10 s interval: CPU seconds per second, as a share of one core
      heartbeats_50_servers_core_pct: +(((50 * beatUs) / 1e6 / 10) * 100).toFixed(4),
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
