/** The HTTP floor: a Streamable HTTP MCP server with one no-op tool, one SDK session per client. Prints its URL. */
import { buildNoopServer } from './noop.js';
import { listenMcpHttp } from './lib.js';

const { url } = await listenMcpHttp(buildNoopServer);
process.stdout.write(`MCP at ${url}/mcp\n`);
process.on('SIGTERM', () => process.exit(0));
