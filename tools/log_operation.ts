import { defineTool } from '../src/tool.js';
import { LogOperationInput, LogOperationOutput } from '../schemas/sessions.js';

export const logOperation = defineTool({
  name: 'log_operation',
  title: 'Log an operation',
  toolset: 'sessions',
  description:
    'Append an entry to the hash-chained operations log (e.g. kind deploy, test_run, note). Claims, completions, ' +
    'checkpoints and session events are logged by the server already. Returns seq.',
  input: LogOperationInput,
  output: LogOperationOutput,
  annotations: { idempotentHint: false, destructiveHint: false },
  handler: (ctx, input) => ctx.store.continuity.log(ctx.session.instance, input, ctx.clock()),
});
