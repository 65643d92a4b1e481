import { defineTool } from '../src/tool.js';
import { HeartbeatInput, HeartbeatOutput } from '../schemas/phases.js';

export const heartbeat = defineTool({
  name: 'heartbeat',
  title: 'Extend a claim lease',
  toolset: 'phases',
  description:
    'Extend the lease of a phase you hold during long work with no other tool calls (any call already refreshes your leases). ' +
    'ok:false with reason stale_token means the phase moved on: stop working on it.',
  input: HeartbeatInput,
  output: HeartbeatOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => ctx.store.phases.heartbeat(ctx.session.instance, input, ctx.clock()),
});
