/**
 * Where a claim's time goes, in one process (issue 14): claim_phase through callTool (validation,
 * handler, lease refresh) on a real SQLite file, and per claim the statements run (count and time,
 * by text), the promises made (all, and while the write lock is held) and the time the write lock
 * is held (BEGIN IMMEDIATE → COMMIT). A diagnostic, not a ratio: it patches better-sqlite3's
 * statements to count them. `node dist/bench/hotpath.js [claims] [warm-up claims] [--trace]`
 * (`--trace`: where each promise made under the lock comes from).
 */
import { createHook } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { parseConfig } from '../src/core/config.js';
import { Store } from '../src/core/store.js';
import { callTool, createServer } from '../src/mcp/server.js';
import { ALL_TOOLS } from '../tools/index.js';
import { fmt, isMain, stats, tmpDb } from './lib.js';

const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1000;

/** Counts and times every statement of the process by its text (better-sqlite3's Statement prototype is shared), and the write lock's hold. */
function watchStatements() {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...a: unknown[]) => unknown>;
  probe.close();
  const w = { counts: new Map<string, number>(), spent: new Map<string, number>(), held: [] as number[], locked: false };
  let lockedAt = 0n;
  for (const m of ['run', 'get', 'all'] as const) {
    const orig = proto[m];
    proto[m] = function (this: { source: string }, ...a: unknown[]) {
      const text = this.source;
      const t = process.hrtime.bigint();
      try {
        return orig.apply(this, a);
      } finally {
        w.counts.set(text, (w.counts.get(text) ?? 0) + 1);
        w.spent.set(text, (w.spent.get(text) ?? 0) + since(t));
        if (text === 'BEGIN IMMEDIATE') [lockedAt, w.locked] = [process.hrtime.bigint(), true];
        if (text === 'COMMIT' || text === 'ROLLBACK') [w.held[w.held.length], w.locked] = [since(lockedAt), false];
      }
    };
  }
  return w;
}

export async function benchHotPath(n: number, warm: number, trace = false) {
  const w = watchStatements();
  let promises = 0;
  let underLock = 0;
  const where = new Map<string, number>();
  const hook = createHook({
    init: (_id, type) => {
      if (type !== 'PROMISE') return;
      promises++;
      if (!w.locked) return;
      underLock++;
      if (!trace) return;
      const frame = (new Error().stack ?? '').split('\n').find((l, i) => i > 1 && !l.includes('node:') && !l.includes('hotpath.js')) ?? '?';
      const at = frame
        .trim()
        .replace(/^at /, '')
        .replace(/file:\/\/.*?\/dist\//, '');
      where.set(at, (where.get(at) ?? 0) + 1);
    },
  });

  const store = await Store.open(tmpDb(), { leaseSeconds: 900 });
  const { ctx } = createServer({ store, config: parseConfig({}), root: process.cwd(), session: { transport: 'stdio', pid: process.pid }, env: { PATH: process.env.PATH } });
  const tool = (name: string) => ALL_TOOLS.find((t) => t.name === name)!;
  const call = { signal: new AbortController().signal, progress: async () => {} };
  // MEGAs of 4,000 phases (a plan holds at most 5,000), claimed one after the other.
  const perMega = 4000;
  for (let m = 0; m * perMega < n + warm; m++) {
    await callTool(ctx, tool('plan_mega'), { key: `B-${m}`, title: 'bench', phases: Array.from({ length: perMega }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) }, call);
  }
  const claim = tool('claim_phase');
  let claimed = 0;
  const next = () => callTool(ctx, claim, { mega: `B-${Math.floor(claimed++ / perMega)}` }, call);
  for (let i = 0; i < warm; i++) await next();
  w.counts.clear();
  w.spent.clear();
  w.held.length = 0;
  hook.enable();
  const wall: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = await next();
    wall.push(since(t));
    if (r.isError) throw new Error(JSON.stringify(r.content));
  }
  hook.disable();
  await store.close();
  const statements = [...w.counts].sort((a, b) => b[1] - a[1]);
  const per = (x: number, d = 1) => fmt(x / n, d);
  return {
    lines: [
      `claim_phase in process (${n} calls after ${warm}): p50 ${fmt(stats(wall).p50, 1)} µs, write lock held p50 ${fmt(stats(w.held).p50, 1)} µs, p99 ${fmt(stats(w.held).p99, 1)} µs`,
      `per claim: ${per(statements.reduce((s, [, c]) => s + c, 0))} statements, ${per(promises, 0)} promises (${per(underLock, 0)} under the write lock), ${per(w.held.length, 2)} transactions`,
      ...[...where].sort((a, b) => b[1] - a[1]).map(([at, c]) => `  ${per(c, 2)} promises at ${at}`),
      ...statements.map(([text, c]) => `  ${per(c, 2)} × ${per(w.spent.get(text) ?? 0).padStart(5)} µs ${text.replace(/\s+/g, ' ').slice(0, 150)}`),
    ],
  };
}

if (isMain(import.meta.url)) {
  const [n, warm] = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const r = await benchHotPath(Number(n ?? 2000), Number(warm ?? n ?? 2000), process.argv.includes('--trace'));
  console.log(r.lines.join('\n'));
}
