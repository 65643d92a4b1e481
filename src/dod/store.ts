import type { Db } from '../core/db.js';
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
    private readonly db: Db,
    private readonly ops: OperationsStore,
  ) {
    this.q = {
      cacheGet: db.prepare<[string, string, string, string, string], { status: string; detail: string; duration_ms: number }>(
        'SELECT status, detail, duration_ms FROM dod_cache WHERE tree = ? AND config = ? AND base = ? AND component = ? AND check_id = ?',
      ),
      cachePut: db.prepare('INSERT OR REPLACE INTO dod_cache (tree, config, base, component, check_id, status, detail, duration_ms, ts) VALUES (?,?,?,?,?,?,?,?,?)'),
      baseGet: db.prepare<[string, string, string], { passed_tests: string | null; warnings: string | null }>(
        'SELECT passed_tests, warnings FROM dod_baselines WHERE base = ? AND config = ? AND component = ?',
      ),
      basePut: db.prepare('INSERT OR REPLACE INTO dod_baselines (base, config, component, passed_tests, warnings, ts) VALUES (?,?,?,?,?,?)'),
      prune: db.prepare('DELETE FROM dod_cache WHERE ts < ?'),
      pruneBase: db.prepare('DELETE FROM dod_baselines WHERE ts < ?'),
      runPut: db.prepare('INSERT INTO dod_runs (ts, instance, mega, phase, tree, base, passed, partial, score, cached, checks) VALUES (?,?,?,?,?,?,?,?,?,?,?)'),
      last: db.prepare<[string, string], RunRow>('SELECT * FROM dod_runs WHERE mega = ? AND phase = ? ORDER BY id DESC LIMIT 1'),
      lastOnTree: db.prepare<[string, string, string], RunRow>('SELECT * FROM dod_runs WHERE mega = ? AND phase = ? AND tree = ? AND partial = 0 ORDER BY id DESC LIMIT 1'),
      latest: db.prepare<[], RunRow>('SELECT r.* FROM dod_runs r JOIN (SELECT max(id) AS id FROM dod_runs WHERE mega IS NOT NULL GROUP BY mega, phase) m ON m.id = r.id ORDER BY r.mega, r.phase'),
      phase: db.prepare<[string, string], PhaseState>('SELECT owner, claimed_at, completed_by FROM phases WHERE mega = ? AND id = ?'),
      phaseOps: db.prepare<[string, string], Parameters<typeof toOperation>[0]>('SELECT * FROM operations WHERE mega = ? AND phase = ? ORDER BY seq'),
      sinceOps: db.prepare<[number, string], Parameters<typeof toOperation>[0]>(
        "SELECT * FROM operations WHERE ts >= ? AND kind IN ('memory','plan','replan') AND (mega IS NULL OR mega = ?) ORDER BY seq",
      ),
      pullGet: db.prepare<[string, string], { branch: string; number: number }>('SELECT branch, number FROM phase_pulls WHERE mega = ? AND phase = ?'),
      pullPut: db.prepare(
        'INSERT INTO phase_pulls (mega, phase, branch, number, ts) VALUES (?,?,?,?,?) ON CONFLICT (mega, phase) DO UPDATE SET branch = excluded.branch, number = excluded.number, ts = excluded.ts',
      ),
      sessionStart: db.prepare<[string], Parameters<typeof toOperation>[0]>("SELECT * FROM operations WHERE instance = ? AND kind = 'session_start' ORDER BY seq LIMIT 1"),
    };
  }

  cached(k: CacheKey): { status: string; detail: string; duration_ms: number } | undefined {
    return this.q.cacheGet.get(k.tree, k.config, k.base, k.component, k.check);
  }

  /** Call inside a write transaction. */
  putCache(k: CacheKey, r: { status: string; detail: string; duration_ms: number }, now: number): void {
    this.q.cachePut.run(k.tree, k.config, k.base, k.component, k.check, r.status, redact(r.detail), r.duration_ms, now);
  }

  baseline(base: string, config: string, component: string): Baseline | undefined {
    const r = this.q.baseGet.get(base, config, component);
    if (!r) return undefined;
    return { passed_tests: r.passed_tests === null ? null : (JSON.parse(r.passed_tests) as string[]), warnings: r.warnings === null ? null : (JSON.parse(r.warnings) as string[]) };
  }

  /** Call inside a write transaction. */
  putBaseline(base: string, config: string, component: string, b: Baseline, now: number): void {
    this.q.basePut.run(base, config, component, b.passed_tests === null ? null : JSON.stringify(b.passed_tests), b.warnings === null ? null : JSON.stringify(b.warnings), now);
  }

  /** Records a run and its `dod` operation (with the configured components it checked, for the cycle report); call inside a write transaction. */
  record(now: number, run: Omit<DodRun, 'id' | 'ts'>, components: readonly string[] = []): number {
    // Cache entries and baselines of trees and bases not seen for a while are dead weight.
    this.q.prune.run(now - RETAIN_MS);
    this.q.pruneBase.run(now - RETAIN_MS);
    const id = Number(
      this.q.runPut.run(now, run.instance, run.mega, run.phase, run.tree, run.base, run.passed ? 1 : 0, run.partial ? 1 : 0, run.score, run.cached ? 1 : 0, redact(JSON.stringify(run.checks)))
        .lastInsertRowid,
    );
    const failed = run.checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id);
    this.ops.append(now, {
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
  pull(mega: string, phase: string): { branch: string; number: number } | undefined {
    return this.q.pullGet.get(mega, phase);
  }

  /** Call inside a write transaction. */
  putPull(mega: string, phase: string, pull: { branch: string; number: number }, now: number): void {
    this.q.pullPut.run(mega, phase, pull.branch, pull.number, now);
  }

  /** The last DoD run of a phase (for complete_phase, the board and the dashboard). */
  last(mega: string, phase: string): DodRun | undefined {
    const r = this.q.last.get(mega, phase);
    return r ? toRun(r) : undefined;
  }

  /** The last full run of a phase on one tree (merge_phase: the tree of the pull request's head commit). */
  lastOnTree(mega: string, phase: string, tree: string): DodRun | undefined {
    const r = this.q.lastOnTree.get(mega, phase, tree);
    return r ? toRun(r) : undefined;
  }

  /** The last run of every phase that has one. */
  latestPerPhase(): DodRun[] {
    return this.q.latest.all().map(toRun);
  }

  phaseState(mega: string, phase: string): PhaseState | undefined {
    return this.q.phase.get(mega, phase);
  }

  /** Operations that decide state_updated and session_logged. */
  evidence(mega: string, phase: string, owner: string | null, since: number): Operation[] {
    const rows = [...this.q.phaseOps.all(mega, phase), ...this.q.sinceOps.all(since, mega)];
    if (owner) {
      const s = this.q.sessionStart.get(owner);
      if (s) rows.push(s);
    }
    return rows.map(toOperation);
  }
}
