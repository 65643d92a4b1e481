/**
 * The board at scale (issue 14), each figure a ratio measured in the same run:
 *  1. `board {}` with 100,000 phases in 2,000 MEGAs over stdio: p50 and the answer's bytes, beside the no-op tool;
 *  2. `board {mega}` and `claim_phase {}` at 1,000 phases (20 MEGAs) vs 100,000 (2,000 MEGAs): flat means a ratio near 1;
 *  3. the dashboard's first paint with 100,000 phases in headless Chromium.
 * The boards are written straight into the tables (bench/board-seed.ts), 50 phases per MEGA.
 */
import Database from 'better-sqlite3';
import { Store } from '../src/core/store.js';
import { PAGE } from '../src/phases/paging.js';
import { seedBoard } from './board-seed.js';
import { paintDashboard, serve } from './http.js';
import { CLI, NOOP, connect, fmt, isMain, stats, time, tmpDb } from './lib.js';

const PER = 50;

async function seeded(megas: number): Promise<{ file: string; keys: string[] }> {
  const file = tmpDb();
  await (await Store.open(file, { leaseSeconds: 7200 })).close(); // the schema, by the migrations
  const db = new Database(file);
  const { keys } = seedBoard(db, { megas, phasesPer: PER, now: Date.now() });
  db.close();
  return { file, keys };
}

type Conn = Awaited<ReturnType<typeof connect>>;
const call = async (c: Conn, name: string, args: Record<string, unknown>) => {
  const r = await c.client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
  return r as { structuredContent: Record<string, unknown> };
};

export async function benchBoard(opts: { quick?: boolean } = {}) {
  const n = opts.quick ? 40 : 200;
  const small = await seeded(20);
  const large = await seeded(2000);
  const noop = await connect(NOOP);
  const s = await connect(CLI, { FACTORY_DB: small.file });
  const l = await connect(CLI, { FACTORY_DB: large.file });
  try {
    // 1. board {} at 100,000 phases, beside the no-op tool.
    const first = await call(l, 'board', {});
    const bytes = Buffer.byteLength(JSON.stringify(first));
    const floor: number[] = [];
    const summary: number[] = [];
    for (let i = 0; i < 20; i++) await call(l, 'board', {}); // warm-up
    for (let b = 0; b < n / 20; b++) {
      for (let i = 0; i < 20; i++) floor.push(await time(() => noop.client.callTool({ name: 'noop', arguments: {} })));
      for (let i = 0; i < 20; i++) summary.push(await time(() => call(l, 'board', {})));
    }

    // 2. board {mega} and claim_phase {} (each claim released again, so every claim finds the same board), interleaved.
    const megaOf = (keys: string[], i: number) => keys[(i * 7) % keys.length] as string;
    const lat = { megaS: [] as number[], megaL: [] as number[], claimS: [] as number[], claimL: [] as number[] };
    const claimOnce = async (c: Conn, into: number[]) => {
      let r: { structuredContent: Record<string, unknown> } | undefined;
      into.push(await time(async () => (r = await call(c, 'claim_phase', {}))));
      const got = r?.structuredContent as { claimed: boolean; token: string; phase: { mega: string; id: number } };
      if (!got.claimed) throw new Error(`claim_phase {} claimed nothing: ${JSON.stringify(got)}`);
      await call(c, 'release_phase', { mega: got.phase.mega, phase: got.phase.id, token: got.token, reason: 'bench' });
    };
    for (let i = 0; i < 20; i++) {
      await call(s, 'board', { mega: megaOf(small.keys, i) });
      await call(l, 'board', { mega: megaOf(large.keys, i) });
      await claimOnce(s, []);
      await claimOnce(l, []);
    }
    for (let b = 0; b < n / 20; b++) {
      for (let i = 0; i < 20; i++) lat.megaS.push(await time(() => call(s, 'board', { mega: megaOf(small.keys, b * 20 + i) })));
      for (let i = 0; i < 20; i++) lat.megaL.push(await time(() => call(l, 'board', { mega: megaOf(large.keys, b * 20 + i) })));
      for (let i = 0; i < 20; i++) await claimOnce(s, lat.claimS);
      for (let i = 0; i < 20; i++) await claimOnce(l, lat.claimL);
    }
    const f = stats(floor);
    const sum = stats(summary);
    const [megaS, megaL, claimS, claimL] = [stats(lat.megaS), stats(lat.megaL), stats(lat.claimS), stats(lat.claimL)];

    // 3. The dashboard at 100,000 phases.
    const http = await serve([CLI, 'http', '--port', '0', '--db', large.file]);
    let paint: { fcp: number; rendered: number };
    try {
      await paintDashboard(http.url); // warm-up: the server's first reads, Chromium's caches
      paint = await paintDashboard(http.url);
    } finally {
      http.child.kill('SIGTERM');
    }
    return {
      lines: [
        `board {} with 100,000 phases in 2,000 MEGAs: p50 ${fmt(sum.p50)} ms, p99 ${fmt(sum.p99)} ms (${fmt(sum.p50 / f.p50)}x the no-op tool's p50 ${fmt(f.p50)} ms), ${bytes} bytes (the first page: ${PAGE.limit} MEGAs)`,
        `board {mega} (50 phases): p50 ${fmt(megaS.p50)} ms at 1,000 phases, ${fmt(megaL.p50)} ms at 100,000: ratio ${fmt(megaL.p50 / megaS.p50)}x`,
        `claim_phase {}: p50 ${fmt(claimS.p50)} ms at 1,000 phases (20 MEGAs), ${fmt(claimL.p50)} ms at 100,000 (2,000 MEGAs): ratio ${fmt(claimL.p50 / claimS.p50)}x`,
        `dashboard with 100,000 phases: first contentful paint ${fmt(paint.fcp, 0)} ms, first MEGAs rendered ${fmt(paint.rendered, 0)} ms after navigation (target <= 1000 ms)`,
      ],
    };
  } finally {
    await Promise.all([noop.client.close(), s.client.close(), l.client.close()]);
  }
}

if (isMain(import.meta.url)) {
  console.log((await benchBoard({ quick: process.argv.includes('--quick') })).lines.join('\n'));
}
