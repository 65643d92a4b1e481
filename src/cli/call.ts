import fs from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../../schemas/config.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../core/store.js';
import { callTool, createServer } from '../mcp/server.js';

/**
 * `factory-mcp call TOOL`: any tool from a terminal, through the same path as an MCP call
 * (callTool: the tool's zod input, its handler, the output check under test, error results),
 * so every tool has its terminal twin by construction. The process is one MCP-like session:
 * it gets an instance on its first write and leaves like a client that disconnects.
 */
export async function runCall(v: Record<string, unknown>, pos: string[], at: { store: Store; config: Config; root: string; env: NodeJS.ProcessEnv; logger: Logger }): Promise<number> {
  const name = pos[0];
  const server = createServer({ ...at, session: { transport: 'cli', pid: process.pid, agent: 'factory-mcp call' } });
  try {
    const tool = server.tools.find((t) => t.name === name);
    if (!tool) throw new InputError('TOOL', `${name === undefined ? 'give a tool' : `unknown tool ${JSON.stringify(name)}`} (one of ${server.tools.map((t) => t.name).join(', ')})`);
    const result = await callTool(server.ctx, tool, toolArgs(v), { signal: new AbortController().signal, progress: async () => {} });
    return print(result, v.json === true);
  } finally {
    server.cleanup();
  }
}

/** The arguments: --args JSON, --args-file FILE (- for stdin), or none ({}). */
function toolArgs(v: Record<string, unknown>): unknown {
  if (v.args !== undefined && v['args-file'] !== undefined) throw new InputError('--args', 'give --args or --args-file, not both');
  let text = '{}';
  let from = '--args';
  if (typeof v.args === 'string') text = v.args;
  else if (typeof v['args-file'] === 'string') {
    from = '--args-file';
    try {
      text = fs.readFileSync(v['args-file'] === '-' ? 0 : v['args-file'], 'utf8');
    } catch (e) {
      throw new InputError(from, (e as Error).message);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(from, `not JSON: ${(e as Error).message}`);
  }
}

/**
 * The answer on stdout (its text, or structuredContent with --json); the exit code: 0 done,
 * 1 a refusal (an answer with a `reason`: claimed:false, stale_token, …) or a failed call,
 * 2 input the tool's schema refused (the message names the field, on stderr).
 */
function print(r: CallToolResult, json: boolean): number {
  const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  if (r.isError) {
    process.stderr.write(`factory-mcp call: ${text}\n`);
    return text.startsWith('Invalid arguments') ? 2 : 1;
  }
  const out = (r.structuredContent ?? {}) as Record<string, unknown>;
  process.stdout.write(json ? `${JSON.stringify(out, null, 2)}\n` : `${text}\n`);
  return typeof out.reason === 'string' ? 1 : 0;
}
