import type { Db } from '../core/db.js';
import type { ClassifiedChange, CompletedPhase, DodEntry, MergeEntry, Range } from './domain.js';

/** Operations-log kinds that say a pull request was merged (`log_operation {kind: "merge", data: {pr}}`). */
export const MERGE_KINDS = ['merge', 'pr_merged'] as const;

/** The cycle report's rows of one period, read from the phases, operations, classifications and DoD runs. */
export class ReportStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      phases: db.prepare<[number, number], { mega: string; id: string; points: number | null; tickets: string; completed_at: number; pr: number | null }>(
        `SELECT p.mega, p.id, p.points, p.tickets, p.completed_at, pp.number AS pr FROM phases p
         LEFT JOIN phase_pulls pp ON pp.mega = p.mega AND pp.phase = p.id
         WHERE p.completed_at >= ? AND p.completed_at < ? ORDER BY p.completed_at`,
      ),
      merges: db.prepare<[number, number], { seq: number; ts: number; data: string | null }>(
        `SELECT seq, ts, data FROM operations WHERE kind IN (${MERGE_KINDS.map((k) => `'${k}'`).join(',')}) AND ts >= ? AND ts < ? ORDER BY seq`,
      ),
      changes: db.prepare<[number, number], { ts: number; reasons: string }>('SELECT ts, reasons FROM classifications WHERE ts >= ? AND ts < ? ORDER BY id'),
      dod: db.prepare<[number, number], { id: number; ts: number; mega: string | null; phase: string | null; regression: number }>(
        `SELECT id, ts, mega, phase,
                EXISTS (SELECT 1 FROM json_each(dod_runs.checks) c WHERE json_extract(c.value, '$.id') = 'no_regressions' AND json_extract(c.value, '$.status') = 'fail') AS regression
         FROM dod_runs WHERE ts >= ? AND ts < ? ORDER BY id`,
      ),
    };
  }

  completed(r: Range): CompletedPhase[] {
    return this.q.phases.all(r.start, r.end).map((p) => ({ ...p, tickets: JSON.parse(p.tickets) as string[] }));
  }

  merges(r: Range): MergeEntry[] {
    return this.q.merges.all(r.start, r.end).map((m) => ({ seq: m.seq, ts: m.ts, pr: prOf(m.data) }));
  }

  changes(r: Range): ClassifiedChange[] {
    return this.q.changes.all(r.start, r.end).map((c) => ({ ts: c.ts, files: [...new Set((JSON.parse(c.reasons) as { files?: string[] }[]).flatMap((x) => x.files ?? []))] }));
  }

  dod(r: Range): DodEntry[] {
    return this.q.dod.all(r.start, r.end).map((d) => ({ ...d, regression: d.regression === 1 }));
  }
}

/** The PR number a merge entry's data names (`pr` or `number`), if any. */
function prOf(data: string | null): number | null {
  if (!data) return null;
  const d = JSON.parse(data) as { pr?: unknown; number?: unknown };
  const n = d.pr ?? d.number;
  return typeof n === 'number' && Number.isInteger(n) ? n : typeof n === 'string' && /^#?\d+$/.test(n) ? Number(n.replace('#', '')) : null;
}
