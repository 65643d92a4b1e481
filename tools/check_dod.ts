import { defineTool } from '../src/tool.js';
import { CheckDodInput, CheckDodOutput } from '../schemas/dod.js';
import { checkDod, renderDod } from '../src/dod/service.js';

export const checkDodTool = defineTool({
  name: 'check_dod',
  title: 'Check the Definition of Done',
  toolset: 'dod',
  description:
    'Run the binary 10-point Definition of Done before complete_phase: compiles, tests, no_regressions, lint, format, ' +
    'no_secrets, pr_created, ci_green, state_updated, session_logged. Commands come from factory.config.json (or are detected). ' +
    'Returns passed (all ten), score "8/10", checks[] with status and the lines to fix; cached:true on an unchanged tree.',
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
