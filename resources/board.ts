import { defineResource } from '../src/mcp/resource.js';
import { renderBoardLines } from '../src/phases/render.js';

export const boardResource = defineResource({
  name: 'board',
  title: 'Factory board',
  description: 'Every MEGA with its phases, status, owners and leases, as text.',
  mimeType: 'text/plain',
  uri: 'factory://board',
  read: (ctx) => renderBoardLines(ctx.store.phases.board(), { color: false, now: ctx.clock() }).join('\n'),
});

export const megaResource = defineResource({
  name: 'mega',
  title: 'One MEGA',
  description: 'One MEGA and its phases as JSON.',
  mimeType: 'application/json',
  template: 'factory://mega/{key}',
  read: (ctx, _uri, p) => JSON.stringify(ctx.store.phases.board(p.key)[0], null, 2),
});
