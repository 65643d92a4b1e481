import { defineTool } from '../src/tool.js';
import { ClassifyChangeInput, ClassifyChangeOutput } from '../schemas/changes.js';
import { classifyChange, renderClassification } from '../src/classify.js';

export const classifyChangeTool = defineTool({
  name: 'classify_change',
  title: 'Ship / Show / Ask',
  toolset: 'changes',
  description:
    'Call before merging or opening a PR: classifies a git range, file list or diff as ship (merge_now), show ' +
    '(merge_then_review) or ask (wait_for_human), with the rules that fired and their files.',
  input: ClassifyChangeInput,
  output: ClassifyChangeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  handler: (ctx, input) => classifyChange({ root: ctx.root, config: ctx.config, store: ctx.store, instance: () => ctx.session.instance, now: ctx.clock }, input),
  text: (o) => renderClassification(o).join('\n'),
});
