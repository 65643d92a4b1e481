import { defineTool } from '../src/mcp/tool.js';
import { PlanMegaInput, PlanMegaOutput } from '../schemas/phases.js';
import { keepRejectedPhases } from '../src/council/service.js';

export const planMega = defineTool({
  name: 'plan_mega',
  title: 'Plan a MEGA ticket',
  toolset: 'phases',
  description:
    'Create or re-plan a MEGA as phases (id, name, points, tickets, deps). Re-planning keeps claims and completions. Returns the ready phases.',
  input: PlanMegaInput,
  output: PlanMegaOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => {
    keepRejectedPhases(ctx.store, ctx.config, input.key, input.phases.map((p) => p.id));
    return ctx.store.phases.plan(ctx.session.instance, input, ctx.clock());
  },
  text: (o) =>
    `${o.created ? 'Planned' : 'Re-planned'} ${o.mega}: ${o.phases} phases; ready now: ${o.ready.map(String).join(', ') || 'none'}` +
    (o.removed.length ? `; dropped ${o.removed.map(String).join(', ')}` : ''),
});
