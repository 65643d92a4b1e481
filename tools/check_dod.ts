import { defineTool } from '../src/tool.js';
import { CheckDodInput, CheckDodOutput } from '../schemas/dod.js';
import { checkDod, renderDod } from '../src/dod/service.js';

export const checkDodTool = defineTool({
  name: 'check_dod',
  title: 'Check the Definition of Done',
  toolset: 'dod',
  description:
    'Prove a phase done before complete_phase: runs the 10 DoD checks (build, tests, regressions, lint, format, secrets, ' +
    'PR, CI, state, session) with commands from the config. Returns passed (all ten or nothing), score, checks[] with ' +
    'the lines to fix; cached on an unchanged tree.',
  input: CheckDodInput,
  output: CheckDodOutput,
  annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: true },
  handler: (ctx, input, call) =>
    checkDod(
      {
        store: ctx.store,
        config: ctx.config,
        root: ctx.root,
        clock: ctx.clock,
        instance: ctx.session.instance,
        defaultPhase: () => {
          const held = ctx.store.phases.claimsOf(ctx.session.instance);
          return held.length === 1 ? { mega: held[0]!.mega, id: held[0]!.id } : null;
        },
      },
      input,
      { signal: call.signal, progress: (done, total, message) => call.progress(done, total, message) },
    ),
  text: (o) => renderDod(o).join('\n'),
});
