import { defineTool } from '../src/mcp/tool.js';
import { CheckpointInput, CheckpointOutput } from '../schemas/sessions.js';
import { outcomeText, withFields } from '../src/mcp/answer-text.js';

export const checkpoint = defineTool({
  name: 'checkpoint',
  title: 'Save progress',
  toolset: 'sessions',
  description: 'Save progress after each step; a resuming session starts from it.',
  input: CheckpointInput,
  output: CheckpointOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (ctx, input) => ctx.store.sessionsService.checkpoint(await ctx.session.ensureInstance(), input, ctx.clock(), ctx.config.phases.reservations),
  text: (o) => (o.saved ? withFields(o.message, o, ['checkpoint_id']) : outcomeText(o, 'saved')),
});
