import { defineTool } from '../src/tool.js';
import { CheckpointInput, CheckpointOutput } from '../schemas/sessions.js';

export const checkpoint = defineTool({
  name: 'checkpoint',
  title: 'Save progress',
  toolset: 'sessions',
  description:
    'Save progress (done, next, percent, files, note) for a phase you hold (mega, phase, token) or for the session. ' +
    'Call after each meaningful step: the next session resumes from the latest one, and board shows it. ' +
    'saved:false with reason stale_token means the phase moved on.',
  input: CheckpointInput,
  output: CheckpointOutput,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: (ctx, input) => ctx.store.continuity.checkpoint(ctx.session.instance, input, ctx.clock()),
});
