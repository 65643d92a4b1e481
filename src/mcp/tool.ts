import { z } from 'zod';
import type { CallInfo, Context } from '../core/context.js';

export type Toolset = 'phases' | 'sessions' | 'council' | 'changes' | 'dod';

/**
 * The four MCP hints, each stated (tools/list sends all four). readOnlyHint: writes nothing.
 * destructiveHint: may undo or drop what others rely on (a plan's phases, a claim), not only add.
 * idempotentHint: the same call again changes nothing more (log entries aside). openWorldHint:
 * its job reaches past the factory's database and repository — GitHub, Linear, the client's model.
 */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  toolset: Toolset;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  handler: (ctx: Context, input: z.output<I>, call: CallInfo) => z.input<O> | Promise<z.input<O>>;
  /**
   * The short text beside structuredContent; defaults to the output's `message`. Many clients show
   * the model only this: it carries what the next call needs (src/mcp/answer-text.ts).
   */
  text?: (out: z.output<O>) => string;
}

/** Identity with types: lets each tool file read as a declaration. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolDef<any, any>;
