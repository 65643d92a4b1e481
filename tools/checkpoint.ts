import { defineTool } from '../src/mcp/tool.js';
import { CheckpointInput, CheckpointOutput } from '../schemas/sessions.js';

export const checkpoint = defineTool({
  name: 'checkpoint',
  title: 'Save progress',
  toolset: 'sessions',
  description:
    'Save progress on your phase (with its token) after each step; the next session resumes from it. saved:false: the phase moved on.',
  input: CheckpointInput,
  output: CheckpointOutput,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: (ctx, input) => ctx.store.continuity.checkpoint(ctx.session.instance, input, ctx.clock()),
});
