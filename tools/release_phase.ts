import { defineTool } from '../src/mcp/tool.js';
import { ReleasePhaseInput, ReleasePhaseOutput } from '../schemas/phases.js';
import { outcomeText } from '../src/mcp/answer-text.js';
import { afterRelease } from '../src/pipeline/worktrees.js';

export const releasePhase = defineTool({
  name: 'release_phase',
  title: 'Release a claim',
  toolset: 'phases',
  description: 'Give your phase back unfinished; others can claim it.',
  input: ReleasePhaseInput,
  output: ReleasePhaseOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (ctx, input) => {
    const r = await ctx.store.phases.release(await ctx.session.ensureInstance(), input, ctx.clock());
    return r.released ? afterRelease(ctx, input, r) : r;
  },
  text: (o) => outcomeText(o, 'released'),
});
