import { defineTool } from '../src/mcp/tool.js';
import { MemoryInput, MemoryOutput } from '../schemas/sessions.js';

export const memory = defineTool({
  name: 'memory',
  title: 'Shared memory',
  toolset: 'sessions',
  description: 'Shared memory.md: read it at session start; append what you decide or find.',
  input: MemoryInput,
  output: MemoryOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: (ctx, input) => ctx.store.sessionsService.memory(() => ctx.session.ensureInstance(), input, ctx.clock()),
  text: (o) => (o.appended !== undefined ? `appended entry ${o.appended}` : o.entries.map((e) => `[${e.section}] ${e.text} — ${e.author}, ${e.at}`).join('\n') || 'memory is empty'),
});
