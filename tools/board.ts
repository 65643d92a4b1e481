import { defineTool } from '../src/tool.js';
import { BoardInput, BoardOutput } from '../schemas/phases.js';
import { renderBoardLines } from '../src/render.js';

export const board = defineTool({
  name: 'board',
  title: 'Show the board',
  toolset: 'phases',
  description:
    'Read the MEGAs and their phases: status (ready, blocked, claimed, done), owner, claimed_at, lease, deps, points. ' +
    'Call at the start of a session or to choose a phase.',
  input: BoardInput,
  output: BoardOutput,
  annotations: { readOnlyHint: true, idempotentHint: true },
  handler: (ctx, input) => ({ autonomy: ctx.config.autonomy, megas: ctx.store.phases.board(input.mega) }),
  text: (o) => renderBoardLines(o.megas, { color: false }).join('\n'),
});
