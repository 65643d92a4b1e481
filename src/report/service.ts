import type { Config } from '../../schemas/config.js';
import type { Sql } from '../core/sql.js';
import type { Store } from '../core/store.js';
import { buildReport, reportRange, type CycleReport } from './domain.js';
import { ReportStore } from './store.js';

const stores = new WeakMap<Sql, ReportStore>();

/**
 * The cycle report of a period (`since`/`until`: YYYY-MM-DD or ISO; default the last 7 days):
 * the one entry for `factory-mcp report`, /api/report and the dashboard's panel.
 */
export async function cycleReport(
  deps: { store: Store; config: Config; clock: () => number },
  period: { since?: string | null | undefined; until?: string | null | undefined } = {},
): Promise<CycleReport> {
  const range = reportRange(deps.clock(), period.since, period.until);
  const sql = deps.store.sql;
  let q = stores.get(sql);
  if (!q) stores.set(sql, (q = new ReportStore(sql)));
  const { merges, checked } = await q.logged(range);
  return buildReport({ range, phases: await q.completed(range), merges, checked, changes: await q.changes(range), dod: await q.dod(range), components: deps.config.dod.components });
}
