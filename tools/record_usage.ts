import { defineTool } from '../src/mcp/tool.js';
import { RecordUsageInput, RecordUsageOutput } from '../schemas/sessions.js';
import { utcDayStart } from '../src/governance/domain.js';

export const recordUsage = defineTool({
  name: 'record_usage',
  title: 'Record token usage',
  toolset: 'sessions',
  description: 'Report usage since your last report; at the daily cost cap claims stop (cost_cap).',
  input: RecordUsageInput,
  output: RecordUsageOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (ctx, input) => {
    const now = ctx.clock();
    const r = await ctx.store.sessionsService.recordUsage(await ctx.session.ensureInstance(), input, now, () => ctx.store.usage.costSince(utcDayStart(now)));
    const cap = ctx.config.governance.daily_cost_cap_usd;
    const reached = cap !== null && r.today_cost_usd >= cap;
    return {
      recorded: true,
      session_cost_usd: r.session_cost_usd,
      today_cost_usd: r.today_cost_usd,
      daily_cap_usd: cap,
      cap_reached: reached,
      message: `recorded; today $${r.today_cost_usd.toFixed(2)}${cap !== null ? ` of $${cap}${reached ? ' — cap reached: no new claims today' : ''}` : ''}`,
    };
  },
});
