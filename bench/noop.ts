import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/**
 * The floor for speed ratios: a low-level SDK Server with one tool that returns {} and does
 * nothing else. Whatever transport a bench uses for factory-mcp, it uses for this too.
 */
export function buildNoopServer(): Server {
  const server = new Server({ name: 'noop', version: '0.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: 'noop', description: 'does nothing', inputSchema: { type: 'object' }, outputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, () => ({ structuredContent: {}, content: [{ type: 'text', text: '{}' }] }));
  return server;
}

// `node dist/bench/noop.js` serves the no-op server over stdio (the floor for stdio benches).
const direct = process.argv[1] !== undefined && /[/\\]bench[/\\]noop\.js$/.test(process.argv[1]);
if (direct) {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  await buildNoopServer().connect(new StdioServerTransport());
}
