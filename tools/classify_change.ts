import { defineTool } from '../src/tool.js';
import { ClassifyChangeInput, ClassifyChangeOutput } from '../schemas/changes.js';
import { classifyChange, renderClassification } from '../src/classify.js';

export const classifyChangeTool = defineTool({
  name: 'classify_change',
  title: 'Classify a change: Ship / Show / Ask',
  toolset: 'changes',
  description:
    'Call before merging or opening a PR. Classifies a git range (default: merge base with the default branch → working tree), ' +
    'a file list or a unified diff as ship (merge_now), show (merge_then_review) or ask (wait_for_human), with every rule that ' +
    'fired and its files. With mega+phase+token the verdict is stored with your phase.',
  input: ClassifyChangeInput,
  output: ClassifyChangeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  handler: (ctx, input) => classifyChange({ root: ctx.root, config: ctx.config, store: ctx.store, instance: () => ctx.session.instance, now: ctx.clock }, input),
  text: (o) => renderClassification(o).join('\n'),
});
