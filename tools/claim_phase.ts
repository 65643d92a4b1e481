import { defineTool } from '../src/mcp/tool.js';
import { ClaimPhaseInput, ClaimResultSchema } from '../schemas/phases.js';
import { noteWeakenings } from '../src/governance/service.js';
import { phaseKey } from '../src/core/ids.js';
import { claimText } from '../src/mcp/answer-text.js';
import { onClaimed } from '../src/pipeline/lifecycle.js';
import { attachWorktree, wantsWorktree } from '../src/pipeline/worktrees.js';

export const claimPhase = defineTool({
  name: 'claim_phase',
  title: 'Claim a phase',
  toolset: 'phases',
  description: 'Claim a phase before working on it; first claim wins. claimed:false: read reason (remaining:0 = all done).',
  input: ClaimPhaseInput,
  output: ClaimResultSchema,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: async (ctx, input) => {
    await ctx.guards.prepare?.();
    const instance = await ctx.session.ensureInstance();
    // One transaction: the claim, the lease refresh and, under a config that weakens gates, its entry.
    const answer = await ctx.store.tx(async () => {
      const r = await ctx.store.phases.claim(instance, input, ctx.clock(), ctx.guards);
      if (r.claimed && r.phase) r.message += await noteWeakenings(ctx, 'claim', r.phase.mega, phaseKey(r.phase.id));
      return r;
    });
    const claim = await onClaimed(ctx, answer); // once committed: its Linear tickets → started, through the outbox
    // git after the transaction: a worktree is slow to make and must not hold the write lock.
    return wantsWorktree(ctx, input.worktree) ? attachWorktree(ctx, claim) : claim;
  },
  text: claimText,
});
