import { defineTool } from '../src/mcp/tool.js';
import { RunCouncilInput, RunCouncilOutput } from '../schemas/council.js';
import { runCouncil } from '../src/council/service.js';

export const runCouncilTool = defineTool({
  name: 'run_council',
  title: 'Run the Council',
  toolset: 'council',
  description: 'Required before claiming over 5 points: 4 personas score 1-10; avg>=8 go, >=6 adjust (mandatory), else reject. No reviews: your model is asked, or briefs come back.',
  input: RunCouncilInput,
  output: RunCouncilOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  handler: (ctx, input, call) => runCouncil(ctx, input, call),
  // Many clients show the model only this text: it must carry what the agent acts on.
  text: (o) =>
    o.status === 'needs_reviews'
      ? [o.message, ...(o.personas ?? []).map((p) => `--- ${p.id} ---\n${p.brief}`)].join('\n\n')
      : [o.message, ...(o.adjustments?.length ? ['Adjustments:', ...o.adjustments.map((a) => `- ${a}`)] : [])].join('\n'),
});
