import { defineTool } from '../src/mcp/tool.js';
import { PlanMegaInput, PlanMegaOutput } from '../schemas/phases.js';
import { keepRejectedPhases } from '../src/council/service.js';

export const planMega = defineTool({
  name: 'plan_mega',
  title: 'Plan a MEGA ticket',
  toolset: 'phases',
  description: 'Split a MEGA into phases, or re-plan it (claims and completions stay; left-out phases drop).',
  input: PlanMegaInput,
  output: PlanMegaOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (ctx, input) => {
    await keepRejectedPhases(
      ctx.store,
      ctx.config,
      input.key,
      input.phases.map((p) => p.id),
    );
    return ctx.store.phases.plan(await ctx.session.ensureInstance(), input, ctx.clock());
  },
  text: (o) =>
    `${o.created ? 'Planned' : 'Re-planned'} ${o.mega}: ${o.phases} phases; ready now: ${o.ready.map(String).join(', ') || 'none'}` +
    (o.removed.length ? `; dropped ${o.removed.map(String).join(', ')}` : ''),
});
