import { defineTool } from '../src/tool.js';
import { RunCouncilInput, RunCouncilOutput } from '../schemas/council.js';
import { councilDeps, runCouncil } from '../src/council.js';

export const runCouncilTool = defineTool({
  name: 'run_council',
  title: 'Run the Council',
  toolset: 'council',
  description:
    'Call before implementing anything over 5 points (claim_phase refuses such phases with council_required until then). ' +
    'Four personas score the subject 1-10: avg >= 8 go, >= 6 adjust (adjustments mandatory), else reject. ' +
    'Pass reviews, or omit them: the server asks your model (sampling) or a reviewer command, else returns ' +
    'needs_reviews with the persona briefs to answer. Report is stored and posted to the Linear ticket.',
  input: RunCouncilInput,
  output: RunCouncilOutput,
  annotations: { idempotentHint: false, destructiveHint: false, openWorldHint: true },
  handler: (ctx, input, call) => runCouncil(councilDeps(ctx), input, call),
});
