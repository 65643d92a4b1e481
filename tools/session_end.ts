import { defineTool } from '../src/tool.js';
import { SessionEndInput, SessionEndOutput } from '../schemas/sessions.js';

export const sessionEnd = defineTool({
  name: 'session_end',
  title: 'End the session',
  toolset: 'sessions',
  description:
    'Call last, with a summary: logs SESSION-END. Your open claims are kept for a later resume unless release:true. ' +
    'A session without session_end is reported as crashed to the next one.',
  input: SessionEndInput,
  output: SessionEndOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => ctx.store.continuity.end(ctx.session.instance, input, ctx.clock()),
});
