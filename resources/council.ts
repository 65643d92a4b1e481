import { defineResource } from '../src/mcp/resource.js';
import { InputError } from '../src/core/errors.js';

export const councilResource = defineResource({
  name: 'council',
  title: 'One council report',
  description: 'A council by id: verdict, scores and the Markdown report.',
  mimeType: 'text/markdown',
  template: 'factory://council/{id}',
  read: async (ctx, _uri, p) => {
    const id = Number(p.id);
    const c = Number.isInteger(id) && id > 0 ? await ctx.store.councils.get(id) : undefined;
    if (!c) throw new InputError('id', `unknown council ${JSON.stringify(p.id)}`);
    const linear = c.comment_url ? `\n_Posted to Linear: ${c.comment_url}_\n` : c.post_pending ? `\n_Waiting to be posted to ${c.ticket}._\n` : '';
    return c.report_markdown + linear;
  },
});
