import { defineTool } from '../src/tool.js';
import { CheckpointInput, CheckpointOutput } from '../schemas/sessions.js';

export const checkpoint = defineTool({
  name: 'checkpoint',
  title: 'Save progress',
  toolset: 'sessions',
  description:
    'Save progress for a phase you hold (mega, phase, token) or for the session, after each meaningful step. ' +
    'The next session resumes from the latest one; board shows it. saved:false, reason stale_token: the phase moved on.',
  input: CheckpointInput,
  output: CheckpointOutput,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: (ctx, input) => ctx.store.continuity.checkpoint(ctx.session.instance, input, ctx.clock()),
});
