/**
 * Phase-ownership benchmarks (issue 3), each a ratio to a floor measured in the same run:
 *  1. claim_phase round trip over stdio vs a no-op tool on the same SDK (p50, p99);
 *  2. 8 processes racing on 500 phases: claims/s, double and lost claims;
 *  3. start-up to first answered tools/list, and resident memory, vs the no-op server.
 */
import Database from 'better-sqlite3';
import { RawStdioClient } from './rawclient.js';
import { CLI, NOOP, connect, fmt, isMain, rssKb, stats, time, tmpDb } from './lib.js';

async function roundTrip(n: number) {
  const db = tmpDb();
  const f = await connect(CLI, { FACTORY_DB: db });
  const noop = await connect(NOOP);
  await f.client.callTool({ name: 'plan_mega', arguments: { key: 'B-1', title: 'bench', phases: Array.from({ length: n + 100 }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) } });
  const claim: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < 50; i++) await noop.client.callTool({ name: 'noop', arguments: {} }); // warm-up
  for (let i = 0; i < 50; i++) await f.client.callTool({ name: 'board', arguments: { mega: 'B-1' } });
  // Interleave in batches so machine noise hits both sides alike.
  for (let b = 0; b < n / 50; b++) {
    for (let i = 0; i < 50; i++) floor.push(await time(() => noop.client.callTool({ name: 'noop', arguments: {} })));
    for (let i = 0; i < 50; i++) claim.push(await time(() => f.client.callTool({ name: 'claim_phase', arguments: { mega: 'B-1' } })));
  }
  await f.client.close();
  await noop.client.close();
  return { claim: stats(claim), floor: stats(floor) };
}

async function race(procs: number, phases: number) {
  const db = tmpDb();
  // Raw JSON-RPC clients: the figure is about the 8 server processes, not the load generator.
  const agents = Array.from({ length: procs }, () => ({ client: new RawStdioClient(process.execPath, [CLI], { FACTORY_DB: db, FACTORY_LOG: 'silent' }) }));
  await Promise.all(agents.map((a) => a.client.initialize()));
  await agents[0]!.client.callTool('plan_mega', { key: 'R-1', title: 'race', phases: Array.from({ length: phases }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) });
  const got: string[][] = agents.map(() => []);
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
  await Promise.all(agents.map((a) => a.client.close()));
  const all = got.flat();
  const double = all.length - new Set(all).size;
  const check = new Database(db, { readonly: true });
  const owned = check.prepare('SELECT count(*) AS n FROM phases WHERE owner IS NOT NULL').get() as { n: number };
  check.close();
  const lost = phases - new Set(all).size + Math.abs(owned.n - new Set(all).size);
  return { claimsPerSecond: all.length / seconds, seconds, double, lost, perProcess: got.map((g) => g.length) };
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

export async function benchPhases(opts: { quick?: boolean } = {}) {
  const n = opts.quick ? 200 : 1000;
  const rt = await roundTrip(n);
  const rc = await race(8, 500);
  const st = await startup(opts.quick ? 5 : 15);
  const lines = [
    `claim_phase round trip over stdio (${rt.claim.n} calls): p50 ${fmt(rt.claim.p50)} ms, p99 ${fmt(rt.claim.p99)} ms`,
    `no-op tool floor:                        p50 ${fmt(rt.floor.p50)} ms, p99 ${fmt(rt.floor.p99)} ms`,
    `  ratio p50 ${fmt(rt.claim.p50 / rt.floor.p50)}x (target <= 2x), p99 ${fmt(rt.claim.p99 / rt.floor.p99)}x`,
    `8 processes racing on 500 phases: ${fmt(rc.claimsPerSecond, 0)} claims/s (target >= 2000) in ${fmt(rc.seconds, 3)} s; double ${rc.double}, lost ${rc.lost}; per process ${rc.perProcess.join('/')}`,
    `start-up to first tools/list: p50 ${fmt(st.factory.ms.p50, 1)} ms vs no-op ${fmt(st.floor.ms.p50, 1)} ms = ${fmt(st.factory.ms.p50 / st.floor.ms.p50)}x (target <= 1.5x)`,
    `resident memory after tools/list: ${fmt(st.factory.rssKb.p50 / 1024, 1)} MiB vs no-op ${fmt(st.floor.rssKb.p50 / 1024, 1)} MiB = ${fmt(st.factory.rssKb.p50 / st.floor.rssKb.p50)}x (target <= 1.5x)`,
  ];
  return { rt, rc, st, lines };
}

if (isMain(import.meta.url)) {
  const r = await benchPhases({ quick: process.argv.includes('--quick') });
  console.log(r.lines.join('\n'));
}
