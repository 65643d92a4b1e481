import type { Config } from '../../schemas/config.js';
import type { Store } from '../core/store.js';
import { InputError } from '../core/errors.js';
import { reportMarkdown } from './domain.js';
import { cycleReport } from './service.js';

export const REPORT_USAGE = `factory-mcp report [--since DATE] [--until DATE] [--markdown|--json] [--db FILE]

The cycle report: for each ISO week (UTC) of the period, its duration, story points completed,
velocity (points per day), issues closed (phases / tickets), PRs merged, components touched and
regressions on main, then the total. DATE is YYYY-MM-DD (UTC; --until includes that day) or an
ISO date-time; the default period is the last 7 days up to today. A period with no data says so.
  --markdown   the table as Markdown (the default)
  --json       the figures as JSON (the same as /api/report)
Exit codes: 0 the report was printed (also when the period is empty), 2 bad options.`;

export const REPORT_OPTIONS = { since: { type: 'string' }, until: { type: 'string' }, markdown: { type: 'boolean' }, json: { type: 'boolean' } } as const;

/** `factory-mcp report`: the same cycleReport as /api/report and the dashboard, printed. */
export async function runReport(store: Store, config: Config, v: Record<string, unknown>, clock: () => number = Date.now): Promise<number> {
  if (v.json && v.markdown) throw new InputError('--json', 'give --json or --markdown, not both');
  let r;
  try {
    r = await cycleReport({ store, config, clock }, { since: v.since as string | undefined, until: v.until as string | undefined });
  } catch (e) {
    // The options are spelled --since and --until here.
    if (e instanceof InputError && (e.field === 'since' || e.field === 'until')) throw new InputError(`--${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
  process.stdout.write(v.json ? `${JSON.stringify(r, null, 2)}\n` : reportMarkdown(r));
  return 0;
}
