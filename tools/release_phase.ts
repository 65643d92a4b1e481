import { defineTool } from '../src/mcp/tool.js';
import { ReleasePhaseInput, ReleasePhaseOutput } from '../schemas/phases.js';

export const releasePhase = defineTool({
  name: 'release_phase',
  title: 'Release a claim',
  toolset: 'phases',
  description:
    'Give a claimed phase back unfinished, with a reason.',
  input: ReleasePhaseInput,
  output: ReleasePhaseOutput,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: (ctx, input) => ctx.store.phases.release(ctx.session.instance, input, ctx.clock()),
});
