import { defineResource } from '../src/mcp/resource.js';

export const changesResource = defineResource({
  name: 'changes',
  title: 'Ship / Show / Ask by phase',
  description: 'The latest Ship / Show / Ask classification stored with each phase of a MEGA (level, reasons, stats), as JSON.',
  mimeType: 'application/json',
  template: 'factory://changes/{key}',
  read: async (ctx, _uri, p) => JSON.stringify(await ctx.store.changes.ofMega(p.key as string), null, 2),
});
