import { defineTool } from '../src/tool.js';
import { ClaimPhaseInput, ClaimResultSchema } from '../schemas/phases.js';

export const claimPhase = defineTool({
  name: 'claim_phase',
  title: 'Claim a phase',
  toolset: 'phases',
  description:
    'Claim a phase before working on it: a named phase (mega + phase), or the next ready phase of a MEGA or of any MEGA. ' +
    'First claim wins. On success you get a fencing token: pass it to heartbeat, checkpoint, complete_phase and release_phase. ' +
    'claimed:false is a normal answer with reason (already_claimed, deps_unmet, no_ready_phase, …) and owner; ' +
    'remaining:0 means nothing is left to do.',
  input: ClaimPhaseInput,
  output: ClaimResultSchema,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: async (ctx, input) => {
    await ctx.guards.prepare?.();
    return ctx.store.phases.claim(ctx.session.instance, input, ctx.clock(), ctx.guards);
  },
});
