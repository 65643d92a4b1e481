/**
 * PostgreSQL benchmarks (issue 14), on a PostgreSQL server of their own (started and removed by
 * test/helpers/postgres-server.ts's `startPostgres`), each a ratio to a floor measured in the same run:
 *  1. `claim_phase` round trip over stdio on PostgreSQL vs the no-op tool on the same SDK, beside
 *     the same on SQLite (bench/phases.ts's `roundTrip`);
 *  2. 8 agents over 2 `factory-mcp http` servers on one database racing for 500 phases vs 8 agents
 *     over 2 bare `FOR UPDATE SKIP LOCKED` claim servers (bench/bare-pg-claim.ts) on the same
 *     database: claims/s, double and lost claims of both, server CPU per claim.
 */
// postgres-server.ts augments vitest's types (its globalSetup keys): let the build see vitest's types (types only, nothing loaded).
/// <reference types="vitest" />
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres } from '../test/helpers/postgres-server.js';
import { barePgOwned, seedBarePg } from './bare-pg-claim.js';
import { serve } from './http.js';
import { CLI, cpuNs, fmt, isMain, stats } from './lib.js';
import { roundTrip } from './phases.js';
import { RawHttpClient } from './rawclient.js';

const BARE_PG = fileURLToPath(new URL('./bare-pg-claim.js', import.meta.url));

/** A new empty database on the bench's server. */
async function createDb(admin: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

async function count(url: string, text: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(text)).rows[0]?.n);
  } finally {
    await c.end();
  }
}

/** 8 agents (`procs`), half on each of two servers, claim every phase of one MEGA: factory-mcp or the bare SKIP LOCKED server, on the same database. */
async function race(url: string, cwd: string, procs: number, phases: number, server: 'factory' | 'bare') {
  if (server === 'bare') await seedBarePg(url, 'R-1', phases);
  const args = server === 'bare' ? [BARE_PG, url] : [CLI, 'http', '--port', '0'];
  const servers = await Promise.all([0, 1].map(() => serve(args, { env: { FACTORY_DB: url }, cwd })));
  try {
    // Raw JSON-RPC over HTTP: the figure is about the two server processes, not the load generator.
    const agents = Array.from({ length: procs }, (_, i) => new RawHttpClient(servers[i % 2]!.url));
    await Promise.all(agents.map((a) => a.initialize()));
    if (server === 'factory') {
      const r = await agents[0]!.callTool('plan_mega', { key: 'R-1', title: 'race', phases: Array.from({ length: phases }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) });
      if (r.isError) throw new Error(`plan_mega failed: ${JSON.stringify(r)}`);
    }
    const got: string[][] = agents.map(() => []);
    const cpu = () => servers.reduce((sum, s) => sum + cpuNs(s.child.pid as number), 0);
    const cpu0 = cpu();
    const t0 = process.hrtime.bigint();
    await Promise.all(
      agents.map(async (a, i) => {
        for (;;) {
          const r = await a.callTool<{ claimed: boolean; phase?: { id: number } }>('claim_phase', { mega: 'R-1' });
          if (r.isError) throw new Error(`claim_phase failed: ${JSON.stringify(r)}`);
          if (!r.structuredContent.claimed) return;
          got[i]!.push(String(r.structuredContent.phase!.id));
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const all = got.flat();
    const cpuPerClaimUs = (cpu() - cpu0) / 1000 / Math.max(1, all.length);
    await Promise.all(agents.map((a) => a.close()));
    const distinct = new Set(all).size;
    const owned = server === 'bare' ? await barePgOwned(url) : await count(url, "SELECT count(*) AS n FROM phases WHERE mega = 'R-1' AND owner IS NOT NULL");
    return {
      claimsPerSecond: all.length / seconds,
      double: all.length - distinct,
      lost: phases - distinct + Math.abs(owned - distinct),
      perProcess: got.map((g) => g.length),
      cpuPerClaimUs,
      claims: all.length,
    };
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : (s.child.once('exit', r), s.child.kill('SIGTERM'))))));
  }
}

/** Transactions committed on `url`'s database so far (the servers' backends report theirs as they exit). */
const commits = (url: string) => count(url, 'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()');

/** A race on a fresh database, with the transactions it committed per claim (start-up, plan and migrations included). */
async function raceOn(url: string, cwd: string, server: 'factory' | 'bare') {
  const r = await race(url, cwd, 8, 500, server);
  await new Promise((res) => setTimeout(res, 1200)); // statistics reach the shared counters within a second
  return { ...r, commitsPerClaim: (await commits(url)) / r.claims };
}

export async function benchPg(opts: { quick?: boolean } = {}) {
  const load0 = os.loadavg();
  const cluster = await startPostgres();
  const stop = () => cluster.stop();
  process.once('exit', stop);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-pg-')); // no factory.config.json: the defaults
  let db = 0;
  const fresh = () => createDb(cluster.url, `bench_${++db}`);
  try {
    const n = opts.quick ? 200 : 1000;
    const onPg = await roundTrip(n, await fresh());
    const onSqlite = await roundTrip(n);
    const rounds = opts.quick ? 1 : 3;
    const factory: Awaited<ReturnType<typeof raceOn>>[] = [];
    const bare: Awaited<ReturnType<typeof raceOn>>[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternated, each on a fresh database of the same server, so load hits both alike.
      factory.push(await raceOn(await fresh(), cwd, 'factory'));
      bare.push(await raceOn(await fresh(), cwd, 'bare'));
    }
    const median = (rs: { claimsPerSecond: number }[]) => stats(rs.map((r) => r.claimsPerSecond)).p50;
    const cpu = (rs: { cpuPerClaimUs: number }[]) => stats(rs.map((r) => r.cpuPerClaimUs)).p50;
    const ratio = median(factory) / median(bare);
    const load1 = os.loadavg();
    const lines = [
      `claim_phase round trip over stdio on PostgreSQL (${onPg.claim.n} calls): p50 ${fmt(onPg.claim.p50)} ms vs no-op ${fmt(onPg.floor.p50)} ms = ${fmt(onPg.claim.p50 / onPg.floor.p50)}x, p99 ${fmt(onPg.claim.p99)} ms; server CPU per call ${fmt(onPg.cpu.claim, 0)} µs vs ${fmt(onPg.cpu.floor, 0)} µs = ${fmt(onPg.cpu.claim / onPg.cpu.floor)}x`,
      `claim_phase round trip over stdio on SQLite     (${onSqlite.claim.n} calls): p50 ${fmt(onSqlite.claim.p50)} ms vs no-op ${fmt(onSqlite.floor.p50)} ms = ${fmt(onSqlite.claim.p50 / onSqlite.floor.p50)}x, p99 ${fmt(onSqlite.claim.p99)} ms; server CPU per call ${fmt(onSqlite.cpu.claim, 0)} µs vs ${fmt(onSqlite.cpu.floor, 0)} µs = ${fmt(onSqlite.cpu.claim / onSqlite.cpu.floor)}x`,
      `  PostgreSQL / SQLite claim p50: ${fmt(onPg.claim.p50 / onSqlite.claim.p50)}x`,
      ...factory.map((f, i) => {
        const b = bare[i]!;
        return `8 agents over 2 HTTP servers racing on 500 phases, round ${i + 1}: factory-mcp ${fmt(f.claimsPerSecond, 0)} claims/s (double ${f.double}, lost ${f.lost}; per agent ${f.perProcess.join('/')}), bare SKIP LOCKED server ${fmt(b.claimsPerSecond, 0)} claims/s (double ${b.double}, lost ${b.lost})`;
      }),
      `  ratio of medians ${fmt(ratio)}x the bare SKIP LOCKED claim server (target >= 0.6x); server CPU per claim ${fmt(cpu(factory), 0)} µs vs ${fmt(cpu(bare), 0)} µs; transactions per claim ${fmt(stats(factory.map((r) => r.commitsPerClaim)).p50)} vs ${fmt(stats(bare.map((r) => r.commitsPerClaim)).p50)}`,
      `load average ${load0.map((l) => fmt(l, 1)).join(' ')} at the start, ${load1.map((l) => fmt(l, 1)).join(' ')} at the end (${os.cpus().length} cores)`,
    ];
    return { onPg, onSqlite, factory, bare, ratio, lines };
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
    process.off('exit', stop);
    stop();
  }
}

if (isMain(import.meta.url)) {
  console.log((await benchPg({ quick: process.argv.includes('--quick') })).lines.join('\n'));
}
