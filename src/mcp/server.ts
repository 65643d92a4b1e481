import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { formatIssues } from '../../schemas/common.js';
import type { Config } from '../../schemas/config.js';
import { ALL_TOOLS } from '../../tools/index.js';
import { ALL_RESOURCES } from '../../resources/index.js';
import { ALL_PROMPTS } from '../../prompts/index.js';
import { matchTemplate } from './resource.js';
import { compactSchema } from './compact-schema.js';
import { serverInstructions } from './surface.js';
import { Session, type CallInfo, type Context } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { councilGuards } from '../council/service.js';
import { Governance } from '../governance/service.js';
import { ResourceWatcher } from './subscriptions.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { SetLevelRequest, sessionLog } from './logging.js';
import type { Store } from '../core/store.js';
import type { NewSession } from '../sessions/store.js';
import { holdSecrets } from '../core/secrets.js';
import type { AnyTool, Toolset } from './tool.js';

export const SERVER_NAME = 'factory-mcp';
export const SERVER_VERSION = '0.1.0';

export interface ServerOptions {
  store: Store;
  config: Config;
  root: string;
  session: NewSession;
  /** Act as this existing session instead of a new one (a CLI session named by its key); its process leaving does not end it. */
  attach?: string;
  clock?: () => number;
  random?: () => number;
  logger?: Logger;
  /** Only tools annotated readOnlyHint (dashboards, observers). */
  readOnly?: boolean;
  /** Only tools of these toolsets (default: all). */
  toolsets?: readonly Toolset[];
  /** The server's environment (ctx.env: secrets, API URLs, FACTORY_KILL_SWITCH, PATH); default process.env, read here once. */
  env?: NodeJS.ProcessEnv;
  /**
   * `store` is a stand-in (an empty in-memory database): the real one is created by this on the
   * first call of a tool that may write, and everything moves to it. Returns the store and a notice.
   */
  materialize?: () => Promise<{ store: Store; notice: string }>;
}

export interface FactoryServer {
  server: Server;
  ctx: Context;
  tools: readonly AnyTool[];
  /** Marks the session disconnected; the caller closes the store. */
  cleanup(): Promise<void>;
}

/** Selects the tools for a server; a tool that writes yet claims readOnlyHint is a start-up error. */
export function selectTools(opts: { readOnly?: boolean; toolsets?: readonly Toolset[] }, tools: readonly AnyTool[] = ALL_TOOLS): AnyTool[] {
  return tools.filter((t) => (!opts.toolsets || opts.toolsets.includes(t.toolset)) && (!opts.readOnly || t.annotations.readOnlyHint === true));
}

/** JSON Schemas for tools/list, computed once per process. */
const listCache = new WeakMap<AnyTool, Tool>();
export function toolListing(t: AnyTool): Tool {
  let entry = listCache.get(t);
  if (!entry) {
    entry = {
      name: t.name,
      description: t.description,
      inputSchema: compactSchema(z.toJSONSchema(t.input, { target: 'draft-7', io: 'input' }) as Record<string, unknown>) as Tool['inputSchema'],
      // Only that the answer is structured: its text carries what the next call needs, and
      // every byte here is read by every agent (test/__toolsnaps__ keeps the field names).
      outputSchema: { type: 'object' },
      // All four hints, always: a client never has to know the MCP defaults to read them.
      annotations: {
        readOnlyHint: t.annotations.readOnlyHint,
        destructiveHint: t.annotations.destructiveHint,
        idempotentHint: t.annotations.idempotentHint,
        openWorldHint: t.annotations.openWorldHint,
      },
    };
    listCache.set(t, entry);
  }
  return entry;
}

/**
 * Every answer is checked against its output schema under test (vitest sets VITEST, and the
 * servers the tests spawn inherit it) or with FACTORY_CHECK_OUTPUT=1; in production the check
 * is skipped: it is a proof of the contract, not input validation, and costs every call.
 */
const CHECK_OUTPUT = Boolean(process.env.VITEST || process.env.FACTORY_CHECK_OUTPUT === '1');

/** Under test: the answer must match its schema exactly — no missing and no extra fields — so production, which skips the parse, sends the same thing. */
function checkOutput(tool: AnyTool, raw: Record<string, unknown>): Record<string, unknown> {
  const parsed = tool.output.parse(raw) as Record<string, unknown>;
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
  if (!isDeepStrictEqual(plain(parsed), plain(raw))) throw new Error(`${tool.name}: the answer carries fields its output schema does not declare: ${extraPaths(plain(raw), plain(parsed)).join(', ')}`);
  return raw;
}

function extraPaths(raw: unknown, parsed: unknown, at = ''): string[] {
  if (typeof raw !== 'object' || raw === null || typeof parsed !== 'object' || parsed === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const p = Array.isArray(raw) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    if (!(k in parsed)) out.push(p);
    else out.push(...extraPaths(v, (parsed as Record<string, unknown>)[k], p));
  }
  return out.slice(0, 5);
}

/** Runs one tool call against a context: validation, the handler, the result shape. Shared by every transport and the CLI (`factory-mcp call`, src/cli/call.ts). */
export async function callTool(ctx: Context, tool: AnyTool, args: unknown, call: CallInfo): Promise<CallToolResult> {
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) return errorResult(`Invalid arguments for ${tool.name}: ${formatIssues(parsed.error)}`);
  const writes = tool.annotations.readOnlyHint !== true;
  try {
    const notice = writes && ctx.materialize ? await ctx.materialize() : null;
    // An accepted call of a writing tool refreshes the caller's leases, in the call's own write
    // transaction; reads and refused (malformed) calls write nothing.
    if (writes) ctx.session.touchWithCall();
    let raw: Record<string, unknown>;
    try {
      raw = (await tool.handler(ctx, parsed.data, call)) as Record<string, unknown>;
    } catch (e) {
      if (writes) await ctx.session.touchAfterCall(false);
      throw e;
    }
    const out = CHECK_OUTPUT ? checkOutput(tool, raw) : raw;
    // A call that wrote nothing refreshes the leases alone; a failed refresh never costs the caller its answer.
    if (writes) {
      try {
        await ctx.session.touchAfterCall(true);
      } catch (e) {
        ctx.logger.warn(`lease refresh after ${tool.name} failed: ${(e as Error).message}`);
      }
    }
    const text = tool.text ? tool.text(out) : typeof out.message === 'string' ? out.message : JSON.stringify(out);
    return { structuredContent: out, content: [{ type: 'text', text }, ...(notice ? [{ type: 'text' as const, text: notice }] : [])] };
  } catch (e) {
    if (e instanceof InputError) return errorResult(`Invalid arguments for ${tool.name}: ${e.message}`);
    ctx.logger.error(`${tool.name} failed: ${(e as Error).stack ?? String(e)}`);
    return errorResult(`${tool.name} failed: ${(e as Error).message}`);
  }
}

/** A resource URI the caller got wrong (InputError) is invalid params naming it; anything else stays as it is. */
function invalidParams(uri: string, e: unknown): unknown {
  return e instanceof InputError ? new McpError(ErrorCode.InvalidParams, `${uri}: ${e.message}`) : e;
}

function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

export function createServer(opts: ServerOptions): FactoryServer {
  const clock = opts.clock ?? Date.now;
  const random = opts.random ?? Math.random;
  // This session's log: the server's own, and notifications/message to its client (logging/setLevel).
  const log = sessionLog(opts.logger ?? silentLogger);
  const logger = log.logger;
  if (opts.env) holdSecrets(opts.env); // redacted wherever text is logged or stored
  const env = opts.env ?? process.env;
  const session = new Session(opts.store, { ...opts.session }, clock, random, opts.attach);
  const governed = (store: Store) => {
    const governance = new Governance({ config: opts.config, root: opts.root, store, clock, env, logger });
    return { store, governance, guards: { ...governance.guards(), ...councilGuards(store, opts.config), filesMode: opts.config.phases.reservations } };
  };
  const ctx: Context = { config: opts.config, root: opts.root, session, clock, random, env, logger, ...governed(opts.store) };
  const tools = selectTools(opts);
  const byName = new Map(tools.map((t) => [t.name, t]));
  const listing = { tools: tools.map(toolListing) };

  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION },
    { capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, logging: {} }, instructions: serverInstructions(tools) },
  );
  log.attach((params) => server.sendLoggingMessage(params));
  server.setRequestHandler(SetLevelRequest, (req) => {
    log.setLevel(req.params.level);
    return {};
  });
  const watcher = new ResourceWatcher(
    () => ctx.store,
    (uri) => server.sendResourceUpdated({ uri }),
  );
  if (opts.materialize) {
    const create = opts.materialize;
    // Concurrent first writes share one creation; only the first is told where the file went.
    let created: Promise<string> | null = null;
    ctx.materialize = async () => {
      if (created) {
        await created;
        return null;
      }
      created = (async () => {
        const { store, notice } = await create();
        const stand_in = ctx.store;
        Object.assign(ctx, governed(store));
        session.use(store);
        watcher.moved();
        await stand_in.close();
        logger.warn(notice);
        return notice;
      })();
      return created;
    };
  }
  // No session is opened here: initialize, tools/list, resources and reads never need an identity.
  server.oninitialized = () => session.setAgent(server.getClientVersion()?.name);
  server.setRequestHandler(ListToolsRequestSchema, () => listing);
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = byName.get(req.params.name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(req.params.name)} (available: ${[...byName.keys()].join(', ')})`);
    const token = req.params._meta?.progressToken;
    const call: CallInfo = {
      signal: extra.signal,
      // Sampling, when the client declared it: the server asks the client's model.
      sample: server.getClientCapabilities()?.sampling ? (params) => server.createMessage(params, { signal: extra.signal }) : undefined,
      progress: async (progress, total, message) => {
        if (token === undefined) return;
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } });
      },
    };
    const result = await callTool(ctx, tool, req.params.arguments, call);
    await watcher.check().catch(() => undefined);
    return result;
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: ALL_RESOURCES.filter((r) => r.uri).map((r) => ({ uri: r.uri as string, name: r.name, title: r.title, description: r.description, mimeType: r.mimeType })),
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: ALL_RESOURCES.filter((r) => r.template).map((r) => ({ uriTemplate: r.template as string, name: r.name, title: r.title, description: r.description, mimeType: r.mimeType })),
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    const uri = req.params.uri;
    for (const r of ALL_RESOURCES) {
      try {
        const params = r.uri === uri ? {} : r.template ? matchTemplate(r.template, uri) : null;
        if (!params) continue;
        return { contents: [{ uri, mimeType: r.mimeType, text: await r.read(ctx, uri, params) }] };
      } catch (e) {
        throw invalidParams(uri, e);
      }
    }
    throw new McpError(ErrorCode.InvalidParams, `unknown resource ${JSON.stringify(uri)}`);
  });
  const knownResource = (uri: string) => {
    try {
      return ALL_RESOURCES.some((r) => r.uri === uri || (r.template !== undefined && matchTemplate(r.template, uri) !== null));
    } catch (e) {
      throw invalidParams(uri, e);
    }
  };
  server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    if (!knownResource(req.params.uri)) throw new McpError(ErrorCode.InvalidParams, `unknown resource ${JSON.stringify(req.params.uri)}`);
    await watcher.subscribe(req.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (req) => {
    watcher.unsubscribe(req.params.uri);
    return {};
  });
  server.onclose = () => watcher.close();
  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: ALL_PROMPTS.map((p) => ({ name: p.name, title: p.title, description: p.description, arguments: p.arguments })),
  }));
  server.setRequestHandler(GetPromptRequestSchema, async (req) => {
    const p = ALL_PROMPTS.find((x) => x.name === req.params.name);
    if (!p) throw new McpError(ErrorCode.InvalidParams, `unknown prompt ${JSON.stringify(req.params.name)}`);
    const missing = (p.arguments ?? []).filter((a) => a.required && !req.params.arguments?.[a.name]);
    if (missing.length) throw new McpError(ErrorCode.InvalidParams, `prompt ${p.name}: missing argument ${missing.map((a) => a.name).join(', ')}`);
    const got = await p.get(ctx, req.params.arguments ?? {});
    return { description: got.description ?? p.description, messages: [{ role: 'user' as const, content: { type: 'text' as const, text: got.text } }] };
  });

  return {
    server,
    ctx,
    tools,
    cleanup: async () => {
      watcher.close();
      const instance = session.known;
      if (!session.started || session.attached !== undefined || instance === null || ctx.store.closed) return;
      await ctx.store.sessionsService.left(instance, clock());
    },
  };
}
