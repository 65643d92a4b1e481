import { defineTool } from '../src/mcp/tool.js';
import { HeartbeatInput, HeartbeatOutput } from '../schemas/phases.js';

export const heartbeat = defineTool({
  name: 'heartbeat',
  title: 'Extend a claim lease',
  toolset: 'phases',
  description:
    'Extend your lease during long work without other calls. ok:false (stale_token): the phase moved on, stop.',
  input: HeartbeatInput,
  output: HeartbeatOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => ctx.store.phases.heartbeat(ctx.session.instance, input, ctx.clock()),
});
