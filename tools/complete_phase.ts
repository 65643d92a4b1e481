import { defineTool } from '../src/tool.js';
import { CompletePhaseInput, CompletePhaseOutput } from '../schemas/phases.js';
import { dodGate } from '../src/dod/gate.js';

export const completePhase = defineTool({
  name: 'complete_phase',
  title: 'Complete a phase',
  toolset: 'phases',
  description:
    'Mark a phase you hold as done, with its token, once it is finished end to end. With chain:true the next ready phase ' +
    '(same MEGA first) is claimed in the same call and returned as next. completed:false with reason stale_token means ' +
    'someone else holds it now.',
  input: CompletePhaseInput,
  output: CompletePhaseOutput,
  annotations: { idempotentHint: true, destructiveHint: false },
  handler: (ctx, input) => dodGate(ctx.store, ctx.config, input.mega, input.phase) ?? ctx.store.phases.complete(ctx.session.instance, input, ctx.clock(), ctx.guards),
  text: (o) => (o.next ? `${o.message}. Next: ${o.next.message}` : o.message),
});
