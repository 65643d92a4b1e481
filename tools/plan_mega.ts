import { defineTool } from '../src/tool.js';
import { PlanMegaInput, PlanMegaOutput } from '../schemas/phases.js';

export const planMega = defineTool({
  name: 'plan_mega',
  title: 'Plan a MEGA ticket',
  toolset: 'phases',
  description:
    'Create or re-plan a MEGA ticket as phases with ids, names, points, tickets and deps. Call once when splitting a ' +
    'MEGA, or again to change the plan: claims and completions are kept. Rejects duplicate ids, unknown deps and cycles. ' +
    'Returns the phases ready to claim.',
  input: PlanMegaInput,
  output: PlanMegaOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => ctx.store.phases.plan(ctx.session.instance, input, ctx.clock()),
  text: (o) =>
    `${o.created ? 'Planned' : 'Re-planned'} ${o.mega}: ${o.phases} phases; ready now: ${o.ready.map(String).join(', ') || 'none'}` +
    (o.removed.length ? `; dropped ${o.removed.map(String).join(', ')}` : ''),
});
