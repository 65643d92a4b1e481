import { defineTool } from '../src/mcp/tool.js';
import { BoardInput, BoardOutput } from '../schemas/phases.js';
import { renderBoardPage } from '../src/phases/render.js';

export const board = defineTool({
  name: 'board',
  title: 'Show the board',
  toolset: 'phases',
  description: "MEGAs (a summary each) or one MEGA's phases: status, owner, lease, deps, points, checkpoint; paged.",
  input: BoardInput,
  output: BoardOutput,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: async (ctx, input) => ({ autonomy: ctx.config.autonomy, ...(await ctx.store.phases.boardPage(input)) }),
  text: (o) => renderBoardPage(o, { color: false }).join('\n'),
});
