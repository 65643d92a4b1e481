import { defineTool } from '../src/mcp/tool.js';
import { MergePhaseInput, MergePhaseOutput } from '../schemas/merge.js';
import { mergePhase } from '../src/pipeline/merge.js';
import { claimText, outcomeText } from '../src/mcp/answer-text.js';

export const mergePhaseTool = defineTool({
  name: 'merge_phase',
  title: 'Merge a phase',
  toolset: 'phases',
  description: "Squash-merge your phase's PR if its gates hold, then complete it.",
  input: MergePhaseInput,
  output: MergePhaseOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  handler: (ctx, input) => mergePhase(ctx, input),
  text: (o) => (o.next ? `${o.message}. Next: ${claimText(o.next)}` : outcomeText(o, 'merged', ['pr', 'merge_commit'])),
});
