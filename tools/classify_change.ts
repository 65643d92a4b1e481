import { defineTool } from '../src/mcp/tool.js';
import { ClassifyChangeInput, ClassifyChangeOutput } from '../schemas/changes.js';
import { classifyChange, renderClassification } from '../src/changes/service.js';
import { fields } from '../src/mcp/answer-text.js';

export const classifyChangeTool = defineTool({
  name: 'classify_change',
  title: 'Ship / Show / Ask',
  toolset: 'changes',
  description: 'Before merging: ship (merge now), show (merge, review later) or ask (wait for a human).',
  input: ClassifyChangeInput,
  output: ClassifyChangeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  handler: (ctx, input) => classifyChange(ctx, input),
  text: (o) => [...renderClassification(o), ...(o.stored === false ? [fields(o, ['stored', 'reason'])] : [])].join('\n'),
});
