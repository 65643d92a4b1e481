/**
 * Phase-ownership benchmarks (issue 3), each a ratio to a floor measured in the same run:
 *  1. claim_phase round trip over stdio vs a no-op tool on the same SDK (p50, p99);
 *  2. 8 processes racing on 500 phases: claims/s against 8 bare SQLite claim-next servers
 *     (bench/bare-claim.ts) on the same shape of table, double and lost claims of both;
 *  3. start-up to first answered tools/list, and resident memory, vs the no-op server.
 */
import Database from 'better-sqlite3';
import { RawStdioClient } from './rawclient.js';
import { BARE, CLI, NOOP, connect, cpuNs, fmt, isMain, rssKb, stats, time, tmpDb } from './lib.js';
import { seedBare } from './bare-claim.js';

/** `db`: a SQLite file (a new one by default) or a `postgres://` URL (bench/pg.ts). */
export async function roundTrip(n: number, db = tmpDb()) {
  const f = await connect(CLI, { FACTORY_DB: db });
  const noop = await connect(NOOP);
  await f.client.callTool({ name: 'plan_mega', arguments: { key: 'B-1', title: 'bench', phases: Array.from({ length: n + 100 }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) } });
  const claim: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < 50; i++) await noop.client.callTool({ name: 'noop', arguments: {} }); // warm-up
  for (let i = 0; i < 50; i++) await f.client.callTool({ name: 'board', arguments: { mega: 'B-1' } });
  const cpu0 = [cpuNs(f.transport.pid as number), cpuNs(noop.transport.pid as number)];
  // Interleave in batches so machine noise hits both sides alike.
  for (let b = 0; b < n / 50; b++) {
    for (let i = 0; i < 50; i++) floor.push(await time(() => noop.client.callTool({ name: 'noop', arguments: {} })));
    for (let i = 0; i < 50; i++) claim.push(await time(() => f.client.callTool({ name: 'claim_phase', arguments: { mega: 'B-1' } })));
  }
  // CPU time each server spent over the calls (each is idle while the other's batch runs): less
  // swayed than wall time by how long a busy machine takes to schedule the processes.
  const cpuUs = (i: number, pid: number) => (cpuNs(pid) - cpu0[i]!) / 1000 / n;
  const cpu = { claim: cpuUs(0, f.transport.pid as number), floor: cpuUs(1, noop.transport.pid as number) };
  await f.client.close();
  await noop.client.close();
  return { claim: stats(claim), floor: stats(floor), cpu };
}

/** 8 processes claim every phase of one MEGA: factory-mcp, or the bare claim-next server (bench/bare-claim.ts) on its own database. */
async function race(procs: number, phases: number, server: 'factory' | 'bare') {
  const db = tmpDb();
  if (server === 'bare') seedBare(db, 'R-1', phases);
  // Raw JSON-RPC clients: the figure is about the 8 server processes, not the load generator.
  const agents = Array.from({ length: procs }, () => ({
    client: server === 'bare' ? new RawStdioClient(process.execPath, [BARE, db], {}) : new RawStdioClient(process.execPath, [CLI], { FACTORY_DB: db, FACTORY_LOG: 'silent' }),
  }));
  await Promise.all(agents.map((a) => a.client.initialize()));
  if (server === 'factory') {
    await agents[0]!.client.callTool('plan_mega', { key: 'R-1', title: 'race', phases: Array.from({ length: phases }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) });
  }
  const got: string[][] = agents.map(() => []);
  const cpu = () => agents.reduce((sum, a) => sum + cpuNs(a.client.pid), 0);
  const cpu0 = cpu();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    agents.map(async (a, i) => {
      for (;;) {
        const r = (await a.client.callTool<{ claimed: boolean; phase?: { id: number } }>('claim_phase', { mega: 'R-1' })).structuredContent;
        if (!r.claimed) return;
        got[i]!.push(String(r.phase!.id));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuPerClaimUs = (cpu() - cpu0) / 1000 / Math.max(1, got.flat().length);
  await Promise.all(agents.map((a) => a.client.close()));
  const all = got.flat();
  const double = all.length - new Set(all).size;
  const check = new Database(db, { readonly: true });
  const owned = check.prepare('SELECT count(*) AS n FROM phases WHERE owner IS NOT NULL').get() as { n: number };
  check.close();
  const lost = phases - new Set(all).size + Math.abs(owned.n - new Set(all).size);
  return { claimsPerSecond: all.length / seconds, seconds, double, lost, perProcess: got.map((g) => g.length), cpuPerClaimUs };
}

/** Races alternate factory-mcp and the bare server, `rounds` each, so load hits both alike; the ratio is of the medians. */
async function races(rounds: number, procs: number, phases: number) {
  const factory: Awaited<ReturnType<typeof race>>[] = [];
  const bare: Awaited<ReturnType<typeof race>>[] = [];
  for (let i = 0; i < rounds; i++) {
    factory.push(await race(procs, phases, 'factory'));
    bare.push(await race(procs, phases, 'bare'));
  }
  const median = (rs: { claimsPerSecond: number }[]) => stats(rs.map((r) => r.claimsPerSecond)).p50;
  const cpu = (rs: { cpuPerClaimUs: number }[]) => stats(rs.map((r) => r.cpuPerClaimUs)).p50;
  return { factory, bare, ratio: median(factory) / median(bare), cpu: { factory: cpu(factory), bare: cpu(bare) } };
}

async function startup(runs: number) {
  const measure = async (script: string, env: Record<string, string>) => {
    const ms: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = await time(async () => {
        const c = await connect(script, env);
        await c.client.listTools();
        rss.push(rssKb(c.transport.pid as number));
        await c.client.close();
      });
      ms.push(t);
    }
    return { ms: stats(ms), rssKb: stats(rss) };
  };
  const db = tmpDb();
  const floor = await measure(NOOP, {});
  const factory = await measure(CLI, { FACTORY_DB: db });
  return { floor, factory };
}

export async function benchPhases(opts: { quick?: boolean; startup?: boolean } = {}) {
  const n = opts.quick ? 200 : 1000;
  const rt = await roundTrip(n);
  const rc = await races(opts.quick ? 1 : 3, 8, 500);
  const st = opts.startup === false ? null : await startup(opts.quick ? 5 : 15);
  const lines = [
    `claim_phase round trip over stdio (${rt.claim.n} calls): p50 ${fmt(rt.claim.p50)} ms, p99 ${fmt(rt.claim.p99)} ms`,
    `no-op tool floor:                        p50 ${fmt(rt.floor.p50)} ms, p99 ${fmt(rt.floor.p99)} ms`,
    `  ratio p50 ${fmt(rt.claim.p50 / rt.floor.p50)}x (target <= 1.5x), p99 ${fmt(rt.claim.p99 / rt.floor.p99)}x`,
    `  server CPU per call: claim_phase ${fmt(rt.cpu.claim, 0)} µs, no-op ${fmt(rt.cpu.floor, 0)} µs = ${fmt(rt.cpu.claim / rt.cpu.floor)}x`,
    ...rc.factory.map((f, i) => {
      const b = rc.bare[i]!;
      return `8 processes racing on 500 phases, round ${i + 1}: factory-mcp ${fmt(f.claimsPerSecond, 0)} claims/s (double ${f.double}, lost ${f.lost}; per process ${f.perProcess.join('/')}), bare claim server ${fmt(b.claimsPerSecond, 0)} claims/s (double ${b.double}, lost ${b.lost})`;
    }),
    `  ratio of medians ${fmt(rc.ratio)}x the bare SQLite claim-next server (target >= 0.8x); server CPU per claim ${fmt(rc.cpu.factory, 0)} µs vs ${fmt(rc.cpu.bare, 0)} µs = ${fmt(rc.cpu.bare / rc.cpu.factory)}x`,
    ...(st
      ? [
          `start-up to first tools/list: p50 ${fmt(st.factory.ms.p50, 1)} ms vs no-op ${fmt(st.floor.ms.p50, 1)} ms = ${fmt(st.factory.ms.p50 / st.floor.ms.p50)}x (target <= 1.5x)`,
          `resident memory after tools/list: ${fmt(st.factory.rssKb.p50 / 1024, 1)} MiB vs no-op ${fmt(st.floor.rssKb.p50 / 1024, 1)} MiB = ${fmt(st.factory.rssKb.p50 / st.floor.rssKb.p50)}x (target <= 1.5x)`,
        ]
      : []),
  ];
  return { rt, rc, st, lines };
}

if (isMain(import.meta.url)) {
  const r = await benchPhases({ quick: process.argv.includes('--quick'), startup: !process.argv.includes('--no-startup') });
  console.log(r.lines.join('\n'));
}
