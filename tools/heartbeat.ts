import { defineTool } from '../src/mcp/tool.js';
import { HeartbeatInput, HeartbeatOutput } from '../schemas/phases.js';
import { outcomeText } from '../src/mcp/answer-text.js';

export const heartbeat = defineTool({
  name: 'heartbeat',
  title: 'Extend a claim lease',
  toolset: 'phases',
  description: 'Extend your lease during long work. ok:false: the phase moved on, stop.',
  input: HeartbeatInput,
  output: HeartbeatOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (ctx, input) => ctx.store.phases.heartbeat(await ctx.session.ensureInstance(), input, ctx.clock()),
  text: (o) => outcomeText(o, 'ok'),
});
