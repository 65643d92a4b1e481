import { z } from 'zod';
import type { CallInfo, Context } from '../core/context.js';

export type Toolset = 'phases' | 'sessions' | 'council' | 'changes' | 'dod';

export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
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
  /** The short human-readable text beside structuredContent; defaults to the output's `message`. */
  text?: (out: z.output<O>) => string;
}

/** Identity with types: lets each tool file read as a declaration. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolDef<any, any>;
