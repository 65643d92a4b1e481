import { defineTool } from '../src/tool.js';
import { ClaimPhaseInput, ClaimResultSchema } from '../schemas/phases.js';

export const claimPhase = defineTool({
  name: 'claim_phase',
  title: 'Claim a phase',
  toolset: 'phases',
  description:
    'Claim a phase before working on it: mega+phase, or omit phase for the next ready one. First claim wins; keep the token for heartbeat/checkpoint/complete/release. claimed:false is a normal answer: read reason; remaining:0 = nothing left.',
  input: ClaimPhaseInput,
  output: ClaimResultSchema,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: async (ctx, input) => {
    await ctx.guards.prepare?.();
    return ctx.store.phases.claim(ctx.session.instance, input, ctx.clock(), ctx.guards);
  },
});
