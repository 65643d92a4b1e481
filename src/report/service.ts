import type { Config } from '../../schemas/config.js';
import type { Db } from '../core/db.js';
import type { Store } from '../core/store.js';
import { buildReport, reportRange, type CycleReport } from './domain.js';
import { ReportStore } from './store.js';

const stores = new WeakMap<Db, ReportStore>();

/**
 * The cycle report of a period (`since`/`until`: YYYY-MM-DD or ISO; default the last 7 days):
 * the one entry for `factory-mcp report`, /api/report and the dashboard's panel.
 */
export function cycleReport(deps: { store: Store; config: Config; clock: () => number }, period: { since?: string | null | undefined; until?: string | null | undefined } = {}): CycleReport {
  const range = reportRange(deps.clock(), period.since, period.until);
  const db = deps.store.db;
  let q = stores.get(db);
  if (!q) stores.set(db, (q = new ReportStore(db)));
  const { merges, checked } = q.logged(range);
  return buildReport({ range, phases: q.completed(range), merges, checked, changes: q.changes(range), dod: q.dod(range), components: deps.config.dod.components });
}
