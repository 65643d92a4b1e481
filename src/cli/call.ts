import fs from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../../schemas/config.js';
import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../core/store.js';
import { callTool, createServer } from '../mcp/server.js';
import { ticketsSettled } from '../pipeline/lifecycle.js';

/** What a command that calls a tool needs: the store and config the CLI opened, its environment and logger. */
export interface CliAt {
  store: Store;
  config: Config;
  root: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

/**
 * Whom a call acts as: an existing CLI session found by its key (`attach`, src/cli/session.ts), or
 * a session of its own (`agent`) that leaves with the process like an MCP client that disconnects
 * (`keep`: it stays, for `session start`).
 */
export type Acting = { attach: string } | { agent: string; keep?: boolean };

/**
 * One tool call from a terminal, through the same path as an MCP call (callTool: the tool's zod
 * input, its handler, the output check under test, error results): every terminal twin goes
 * through here, so none has a copy of a tool's logic. `before` sees the context first (session start
 * records its key with the session's first write).
 */
export async function invoke(name: string | undefined, args: unknown, at: CliAt, acting: Acting, before?: (ctx: Context) => Promise<void>): Promise<CallToolResult> {
  const attach = 'attach' in acting ? acting.attach : undefined;
  const keep = 'keep' in acting && acting.keep === true;
  // A session that outlives this process has no pid: its liveness is unknown and its leases decide,
  // as for an HTTP client (a pid would make it count as gone the moment this process exits).
  const pid = attach !== undefined || keep ? null : process.pid;
  const server = createServer({ ...at, session: { transport: 'cli', pid, agent: 'agent' in acting ? acting.agent : null }, attach });
  try {
    const tool = server.tools.find((t) => t.name === name);
    if (!tool) throw new InputError('TOOL', `${name === undefined ? 'give a tool' : `unknown tool ${JSON.stringify(name)}`} (one of ${server.tools.map((t) => t.name).join(', ')})`);
    await before?.(server.ctx);
    const result = await callTool(server.ctx, tool, args, { signal: new AbortController().signal, progress: async () => {} });
    await ticketsSettled(); // a claim's Linear tickets move before the command closes its store
    return result;
  } finally {
    if (!keep) await server.cleanup();
  }
}

/** `factory-mcp call TOOL`: any tool with JSON arguments, as the CLI session of FACTORY_SESSION/--session when given. */
export async function runCall(v: Record<string, unknown>, pos: string[], at: CliAt, attach: string | null): Promise<number> {
  const result = await invoke(pos[0], toolArgs(v), at, attach ? { attach } : { agent: 'factory-mcp call' });
  return report('call', result, v.json === true);
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

/** The answer's text, as many MCP clients show it. */
export function resultText(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/**
 * The answer on stdout (its text, or structuredContent with --json); the exit code: 0 done,
 * 1 a refusal (an answer with a `reason`: claimed:false, stale_token, …) or a failed call,
 * 2 input the tool's schema refused (the message names the field, on stderr). A twin's `exit`
 * overrides the code of an answer (run_council's needs_reviews is 1); its `more` adds a line to the
 * text (the next command to run).
 */
export function report(
  command: string,
  r: CallToolResult,
  json: boolean,
  twin: { exit?: (out: Record<string, unknown>) => number; more?: (out: Record<string, unknown>) => string | null } = {},
): number {
  const text = resultText(r);
  if (r.isError) {
    process.stderr.write(`factory-mcp ${command}: ${text}\n`);
    return text.startsWith('Invalid arguments') ? 2 : 1;
  }
  const out = (r.structuredContent ?? {}) as Record<string, unknown>;
  const more = json ? null : (twin.more?.(out) ?? null);
  process.stdout.write(json ? `${JSON.stringify(out, null, 2)}\n` : `${text}\n${more ? `${more}\n` : ''}`);
  const exit = twin.exit;
  return exit ? exit(out) : typeof out.reason === 'string' ? 1 : 0;
}
