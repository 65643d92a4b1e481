import type { Sql } from '../core/sql.js';
import type { Operation, OperationsStore } from '../core/operations.js';
import { toOperation } from '../core/operations.js';
import { redact } from '../core/secrets.js';
import type { CheckResult } from './domain.js';

export interface DodRun {
  id: number;
  ts: number;
  instance: string | null;
  mega: string | null;
  phase: string | null;
  tree: string;
  base: string | null;
  passed: boolean;
  partial: boolean;
  score: string;
  cached: boolean;
  checks: CheckResult[];
}

export interface CacheKey {
  tree: string;
  config: string;
  base: string;
  component: string;
  check: string;
}

export interface Baseline {
  passed_tests: string[] | null;
  warnings: string[] | null;
}

export interface PhaseState {
  owner: string | null;
  claimed_at: number | null;
  completed_by: string | null;
}

const RETAIN_MS = 14 * 24 * 3600 * 1000;

/** A dod_runs row: the booleans as 0/1 and the checks as JSON. */
type RunRow = Omit<DodRun, 'passed' | 'partial' | 'cached' | 'checks'> & { passed: number; partial: number; cached: number; checks: string };

const toRun = (r: RunRow): DodRun => ({ ...r, passed: r.passed === 1, partial: r.partial === 1, cached: r.cached === 1, checks: JSON.parse(r.checks) as CheckResult[] });

/** DoD runs (one per check_dod), the per-check cache by tree/config/base, and test/lint baselines. */
export class DodStore {
  private readonly q;

  constructor(
    sql: Sql,
    private readonly ops: OperationsStore,
  ) {
    this.q = {
      cacheGet: sql.prepare<[string, string, string, string, string], { status: string; detail: string; duration_ms: number }>(
        'SELECT status, detail, duration_ms FROM dod_cache WHERE tree = ? AND config = ? AND base = ? AND component = ? AND check_id = ?',
      ),
      cachePut: sql.prepare(`INSERT INTO dod_cache (tree, config, base, component, check_id, status, detail, duration_ms, ts) VALUES (?,?,?,?,?,?,?,?,?)
         ON CONFLICT (tree, config, base, component, check_id) DO UPDATE SET status = excluded.status, detail = excluded.detail, duration_ms = excluded.duration_ms, ts = excluded.ts`),
      baseGet: sql.prepare<[string, string, string], { passed_tests: string | null; warnings: string | null }>(
        'SELECT passed_tests, warnings FROM dod_baselines WHERE base = ? AND config = ? AND component = ?',
      ),
      basePut: sql.prepare(`INSERT INTO dod_baselines (base, config, component, passed_tests, warnings, ts) VALUES (?,?,?,?,?,?)
         ON CONFLICT (base, config, component) DO UPDATE SET passed_tests = excluded.passed_tests, warnings = excluded.warnings, ts = excluded.ts`),
      prune: sql.prepare('DELETE FROM dod_cache WHERE ts < ?'),
      pruneBase: sql.prepare('DELETE FROM dod_baselines WHERE ts < ?'),
      runPut: sql.prepare<unknown[], { id: number | string }>(
        'INSERT INTO dod_runs (ts, instance, mega, phase, tree, base, passed, partial, score, cached, checks) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id',
      ),
      last: sql.prepare<[string, string], RunRow>('SELECT * FROM dod_runs WHERE mega = ? AND phase = ? ORDER BY id DESC LIMIT 1'),
      lastOnTree: sql.prepare<[string, string, string], RunRow>('SELECT * FROM dod_runs WHERE mega = ? AND phase = ? AND tree = ? AND partial = 0 ORDER BY id DESC LIMIT 1'),
      latest: sql.prepare<[], RunRow>('SELECT r.* FROM dod_runs r JOIN (SELECT max(id) AS id FROM dod_runs WHERE mega IS NOT NULL GROUP BY mega, phase) m ON m.id = r.id ORDER BY r.mega, r.phase'),
      phase: sql.prepare<[string, string], PhaseState>('SELECT owner, claimed_at, completed_by FROM phases WHERE mega = ? AND id = ?'),
      phaseOps: sql.prepare<[string, string], Parameters<typeof toOperation>[0]>('SELECT * FROM operations WHERE mega = ? AND phase = ? ORDER BY seq'),
      sinceOps: sql.prepare<[number, string], Parameters<typeof toOperation>[0]>(
        "SELECT * FROM operations WHERE ts >= ? AND kind IN ('memory','plan','replan') AND (mega IS NULL OR mega = ?) ORDER BY seq",
      ),
      pullGet: sql.prepare<[string, string], { branch: string; number: number }>('SELECT branch, number FROM phase_pulls WHERE mega = ? AND phase = ?'),
      pullPut: sql.prepare(
        'INSERT INTO phase_pulls (mega, phase, branch, number, ts) VALUES (?,?,?,?,?) ON CONFLICT (mega, phase) DO UPDATE SET branch = excluded.branch, number = excluded.number, ts = excluded.ts',
      ),
      sessionStart: sql.prepare<[string], Parameters<typeof toOperation>[0]>("SELECT * FROM operations WHERE instance = ? AND kind = 'session_start' ORDER BY seq LIMIT 1"),
    };
  }

  async cached(k: CacheKey): Promise<{ status: string; detail: string; duration_ms: number } | undefined> {
    return this.q.cacheGet.get(k.tree, k.config, k.base, k.component, k.check);
  }

  /** Call inside a write transaction. */
  async putCache(k: CacheKey, r: { status: string; detail: string; duration_ms: number }, now: number): Promise<void> {
    await this.q.cachePut.run(k.tree, k.config, k.base, k.component, k.check, r.status, redact(r.detail), r.duration_ms, now);
  }

  async baseline(base: string, config: string, component: string): Promise<Baseline | undefined> {
    const r = await this.q.baseGet.get(base, config, component);
    if (!r) return undefined;
    return { passed_tests: r.passed_tests === null ? null : (JSON.parse(r.passed_tests) as string[]), warnings: r.warnings === null ? null : (JSON.parse(r.warnings) as string[]) };
  }

  /** Call inside a write transaction. */
  async putBaseline(base: string, config: string, component: string, b: Baseline, now: number): Promise<void> {
    await this.q.basePut.run(base, config, component, b.passed_tests === null ? null : JSON.stringify(b.passed_tests), b.warnings === null ? null : JSON.stringify(b.warnings), now);
  }

  /** Records a run and its `dod` operation (with the configured components it checked, for the cycle report); call inside a write transaction. */
  async record(now: number, run: Omit<DodRun, 'id' | 'ts'>, components: readonly string[] = []): Promise<number> {
    // Cache entries and baselines of trees and bases not seen for a while are dead weight.
    await this.q.prune.run(now - RETAIN_MS);
    await this.q.pruneBase.run(now - RETAIN_MS);
    // Number(): an engine may hand a 64-bit id back as text.
    const id = Number(
      (
        (await this.q.runPut.get(
          now,
          run.instance,
          run.mega,
          run.phase,
          run.tree,
          run.base,
          run.passed ? 1 : 0,
          run.partial ? 1 : 0,
          run.score,
          run.cached ? 1 : 0,
          redact(JSON.stringify(run.checks)),
        )) as { id: number | string }
      ).id,
    );
    const failed = run.checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id);
    await this.ops.append(now, {
      instance: run.instance,
      kind: 'dod',
      mega: run.mega,
      phase: run.phase,
      message: `DoD ${run.score}${run.partial ? ' (partial)' : ''} ${run.passed ? 'passed' : `failed${failed.length ? `: ${failed.join(', ')}` : ''}`}${run.mega ? ` for ${run.mega}/${run.phase}` : ''}`,
      data: { run: id, tree: run.tree, passed: run.passed, score: run.score, cached: run.cached, ...(components.length ? { components } : {}) },
    });
    return id;
  }

  /** The pull request pr_created found for a phase (where its gates are published). */
  async pull(mega: string, phase: string): Promise<{ branch: string; number: number } | undefined> {
    return this.q.pullGet.get(mega, phase);
  }

  /** Call inside a write transaction. */
  async putPull(mega: string, phase: string, pull: { branch: string; number: number }, now: number): Promise<void> {
    await this.q.pullPut.run(mega, phase, pull.branch, pull.number, now);
  }

  /** The last DoD run of a phase (for complete_phase, the board and the dashboard). */
  async last(mega: string, phase: string): Promise<DodRun | undefined> {
    const r = await this.q.last.get(mega, phase);
    return r ? toRun(r) : undefined;
  }

  /** The last full run of a phase on one tree (merge_phase: the tree of the pull request's head commit). */
  async lastOnTree(mega: string, phase: string, tree: string): Promise<DodRun | undefined> {
    const r = await this.q.lastOnTree.get(mega, phase, tree);
    return r ? toRun(r) : undefined;
  }

  /** The last run of every phase that has one. */
  async latestPerPhase(): Promise<DodRun[]> {
    return (await this.q.latest.all()).map(toRun);
  }

  async phaseState(mega: string, phase: string): Promise<PhaseState | undefined> {
    return this.q.phase.get(mega, phase);
  }

  /** Operations that decide state_updated and session_logged. */
  async evidence(mega: string, phase: string, owner: string | null, since: number): Promise<Operation[]> {
    const rows = [...(await this.q.phaseOps.all(mega, phase)), ...(await this.q.sinceOps.all(since, mega))];
    if (owner) {
      const s = await this.q.sessionStart.get(owner);
      if (s) rows.push(s);
    }
    return rows.map(toOperation);
  }
}
