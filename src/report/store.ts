import type { Sql } from '../core/sql.js';
import type { CheckedComponents, ClassifiedChange, CompletedPhase, DodEntry, MergeEntry, Range } from './domain.js';

/** Operations-log kinds that say a pull request was merged (`log_operation {kind: "merge", data: {pr}}`). */
export const MERGE_KINDS = ['merge', 'pr_merged'] as const;

/** The cycle report's rows of one period, read from the phases, operations, classifications and DoD runs. */
export class ReportStore {
  private readonly q;

  constructor(sql: Sql) {
    this.q = {
      phases: sql.prepare<[number, number], { mega: string; id: string; points: number | null; tickets: string; completed_at: number; pr: number | null }>(
        `SELECT p.mega, p.id, p.points, p.tickets, p.completed_at, pp.number AS pr FROM phases p
         LEFT JOIN phase_pulls pp ON pp.mega = p.mega AND pp.phase = p.id
         WHERE p.completed_at >= ? AND p.completed_at < ? ORDER BY p.completed_at`,
      ),
      logged: sql.prepare<[number, number], { seq: number; ts: number; kind: string; data: string | null }>(
        `SELECT seq, ts, kind, data FROM operations WHERE kind IN (${[...MERGE_KINDS, 'dod'].map((k) => `'${k}'`).join(',')}) AND ts >= ? AND ts < ? ORDER BY seq`,
      ),
      changes: sql.prepare<[number, number], { ts: number; reasons: string }>('SELECT ts, reasons FROM classifications WHERE ts >= ? AND ts < ? ORDER BY id'),
      dod: sql.prepare<[number, number], { id: number; ts: number; mega: string | null; phase: string | null; regression: number }>(
        `SELECT id, ts, mega, phase,
                EXISTS (${
                  sql.dialect === 'postgres'
                    ? "SELECT 1 FROM json_array_elements(dod_runs.checks::json) c WHERE c->>'id' = 'no_regressions' AND c->>'status' = 'fail'"
                    : "SELECT 1 FROM json_each(dod_runs.checks) c WHERE json_extract(c.value, '$.id') = 'no_regressions' AND json_extract(c.value, '$.status') = 'fail'"
                }) AS regression
         FROM dod_runs WHERE ts >= ? AND ts < ? ORDER BY id`,
      ),
    };
  }

  async completed(r: Range): Promise<CompletedPhase[]> {
    return (await this.q.phases.all(r.start, r.end)).map((p) => ({ ...p, tickets: JSON.parse(p.tickets) as string[] }));
  }

  /** From the operations log: merge entries, and the components each DoD run checked. */
  async logged(r: Range): Promise<{ merges: MergeEntry[]; checked: CheckedComponents[] }> {
    const merges: MergeEntry[] = [];
    const checked: CheckedComponents[] = [];
    for (const o of await this.q.logged.all(r.start, r.end)) {
      const data = o.data ? (JSON.parse(o.data) as Record<string, unknown>) : {};
      if (o.kind !== 'dod') merges.push({ seq: o.seq, ts: o.ts, pr: prOf(data) });
      else if (Array.isArray(data.components)) checked.push({ ts: o.ts, components: data.components.filter((c): c is string => typeof c === 'string') });
    }
    return { merges, checked };
  }

  async changes(r: Range): Promise<ClassifiedChange[]> {
    return (await this.q.changes.all(r.start, r.end)).map((c) => ({ ts: c.ts, files: [...new Set((JSON.parse(c.reasons) as { files?: string[] }[]).flatMap((x) => x.files ?? []))] }));
  }

  async dod(r: Range): Promise<DodEntry[]> {
    return (await this.q.dod.all(r.start, r.end)).map((d) => ({ ...d, regression: d.regression === 1 }));
  }
}

/** The PR number a merge entry's data names (`pr` or `number`), if any. */
function prOf(d: Record<string, unknown>): number | null {
  const n = d.pr ?? d.number;
  return typeof n === 'number' && Number.isInteger(n) ? n : typeof n === 'string' && /^#?\d+$/.test(n) ? Number(n.replace('#', '')) : null;
}
