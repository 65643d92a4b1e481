import { defineTool } from '../src/mcp/tool.js';
import { LogOperationInput, LogOperationOutput } from '../schemas/sessions.js';

export const logOperation = defineTool({
  name: 'log_operation',
  title: 'Log an operation',
  toolset: 'sessions',
  description: 'Append your own entry to the hash-chained operations log.',
  input: LogOperationInput,
  output: LogOperationOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (ctx, input) => ctx.store.sessionsService.log(await ctx.session.ensureInstance(), input, ctx.clock()),
});
