import { defineTool } from '../src/mcp/tool.js';
import { CompletePhaseInput, CompletePhaseOutput } from '../schemas/phases.js';
import { completeGates } from '../src/dod/gate.js';
import { noteWeakenings } from '../src/governance/service.js';
import { phaseKey } from '../src/core/ids.js';
import { claimText, outcomeText } from '../src/mcp/answer-text.js';
import { onClaimed } from '../src/pipeline/lifecycle.js';
import { afterComplete } from '../src/pipeline/worktrees.js';

export const completePhase = defineTool({
  name: 'complete_phase',
  title: 'Complete a phase',
  toolset: 'phases',
  description: 'Mark your phase done once check_dod passes. completed:false: read reason.',
  input: CompletePhaseInput,
  output: CompletePhaseOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: async (ctx, input) => {
    await ctx.guards.prepare?.();
    const gates = await completeGates(ctx, input.mega, input.phase);
    const instance = await ctx.session.ensureInstance();
    // One transaction: the completion (its gates run after the token check), the lease refresh, a config_weakened entry.
    const answer = await ctx.store.tx(async () => {
      const r = await ctx.store.phases.complete(instance, input, ctx.clock(), { ...ctx.guards, beforeComplete: async () => (await ctx.guards.beforeComplete?.()) ?? gates() });
      if (r.completed && r.phase) r.message += await noteWeakenings(ctx, 'complete', r.phase.mega, phaseKey(r.phase.id));
      return r;
    });
    if (answer.next) await onClaimed(ctx, answer.next); // once committed: the chained claim's Linear tickets → started
    // git after the transaction: a worktree is slow to make and must not hold the write lock.
    return afterComplete(ctx, input, answer);
  },
  text: (o) => (o.next ? `${o.message}. Next: ${claimText(o.next)}` : outcomeText(o, 'completed')),
});
