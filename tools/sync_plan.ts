import { defineTool } from '../src/mcp/tool.js';
import { SyncPlanInput, SyncPlanOutput } from '../schemas/council.js';
import { syncPlan } from '../src/council/service.js';
import { outcomeText } from '../src/mcp/answer-text.js';

export const syncPlanTool = defineTool({
  name: 'sync_plan',
  title: 'Sync a plan from Linear',
  toolset: 'council',
  description: 'Plan a MEGA from its Linear issue: sub-issues become phases. Needs LINEAR_API_KEY.',
  input: SyncPlanInput,
  output: SyncPlanOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  handler: (ctx, input) => syncPlan(ctx, input.key),
  text: (o) => (o.plan_markdown ? `${o.message}\n\n${o.plan_markdown}` : outcomeText(o, 'synced')),
});
