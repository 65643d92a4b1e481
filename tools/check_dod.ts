import { defineTool } from '../src/mcp/tool.js';
import { CheckDodInput, CheckDodOutput } from '../schemas/dod.js';
import { checkDod, renderDod } from '../src/dod/service.js';

export const checkDodTool = defineTool({
  name: 'check_dod',
  title: 'Check the Definition of Done',
  toolset: 'dod',
  description: 'Before complete_phase: 10 Definition-of-Done checks, all must pass; failures say what to fix.',
  input: CheckDodInput,
  output: CheckDodOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (ctx, input, call) => checkDod(ctx, input, { signal: call.signal, progress: (done, total, message) => call.progress(done, total, message) }),
  text: (o) => renderDod(o).join('\n'),
});
