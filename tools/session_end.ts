import { defineTool } from '../src/mcp/tool.js';
import { SessionEndInput, SessionEndOutput } from '../schemas/sessions.js';

export const sessionEnd = defineTool({
  name: 'session_end',
  title: 'End the session',
  toolset: 'sessions',
  description:
    'Call last, with a summary (SESSION-END). Claims stay for a resume unless release:true.',
  input: SessionEndInput,
  output: SessionEndOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => ctx.store.continuity.end(ctx.session.instance, input, ctx.clock()),
});
