import { defineResource } from '../src/mcp/resource.js';
import { renderBoardPage } from '../src/phases/render.js';

export const boardResource = defineResource({
  name: 'board',
  title: 'Factory board',
  description: 'The first page of the board as text: a summary per MEGA (with phases while the board is small); the board tool pages on.',
  mimeType: 'text/plain',
  uri: 'factory://board',
  read: async (ctx) => renderBoardPage(await ctx.store.phases.boardPage({}), { color: false, now: ctx.clock() }).join('\n'),
});

export const megaResource = defineResource({
  name: 'mega',
  title: 'One MEGA',
  description: 'One MEGA and the first page of its phases as JSON (a cursor for board {mega, cursor} when there are more).',
  mimeType: 'application/json',
  template: 'factory://mega/{key}',
  read: async (ctx, _uri, p) => {
    const page = await ctx.store.phases.boardPage({ mega: p.key });
    return JSON.stringify({ ...page.megas[0], ...(page.cursor ? { cursor: page.cursor } : {}) }, null, 2);
  },
});
