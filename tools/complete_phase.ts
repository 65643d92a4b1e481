import { defineTool } from '../src/tool.js';
import { CompletePhaseInput, CompletePhaseOutput } from '../schemas/phases.js';
import { completeGates } from '../src/dod/gate.js';

export const completePhase = defineTool({
  name: 'complete_phase',
  title: 'Complete a phase',
  toolset: 'phases',
  description:
    'Mark your phase done with its token. chain:true also claims the next ready phase (returned as next).',
  input: CompletePhaseInput,
  output: CompletePhaseOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: async (ctx, input) => {
    await ctx.guards.prepare?.();
    const gates = await completeGates(ctx, input.mega, input.phase);
    // The gates run after the token check, inside the completion transaction.
    return ctx.store.phases.complete(ctx.session.instance, input, ctx.clock(), { ...ctx.guards, beforeComplete: () => ctx.guards.beforeComplete?.() ?? gates() });
  },
  text: (o) => (o.next ? `${o.message}. Next: ${o.next.message}` : o.message),
});
