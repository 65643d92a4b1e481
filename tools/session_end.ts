import { defineTool } from '../src/mcp/tool.js';
import { SessionEndInput, SessionEndOutput } from '../schemas/sessions.js';

export const sessionEnd = defineTool({
  name: 'session_end',
  title: 'End the session',
  toolset: 'sessions',
  description: 'Call last (SESSION-END). Your claims stay parked for a resume unless released.',
  input: SessionEndInput,
  output: SessionEndOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  handler: async (ctx, input) => ctx.store.sessionsService.end(await ctx.session.ensureInstance(), input, ctx.clock()),
});
