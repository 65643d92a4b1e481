import { defineTool } from '../src/mcp/tool.js';
import { BoardInput, BoardOutput } from '../schemas/phases.js';
import { renderBoardLines } from '../src/phases/render.js';

export const board = defineTool({
  name: 'board',
  title: 'Show the board',
  toolset: 'phases',
  description: 'MEGAs and phases: status, owner, lease, deps, points, latest checkpoint.',
  input: BoardInput,
  output: BoardOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (ctx, input) => ({ autonomy: ctx.config.autonomy, megas: ctx.store.phases.board(input.mega) }),
  text: (o) => renderBoardLines(o.megas, { color: false }).join('\n'),
});
