import type { Context } from '../core/context.js';
import { InputError } from '../core/errors.js';

/**
 * An MCP resource: a fixed `uri`, or a `template` such as `factory://mega/{key}` whose
 * variables arrive as `params`. `read` returns the text; it is called on every read.
 */
export interface ResourceDef {
  name: string;
  title?: string;
  description: string;
  mimeType: string;
  uri?: string;
  template?: string;
  read(ctx: Context, uri: string, params: Record<string, string>): string | Promise<string>;
}

export interface PromptDef {
  name: string;
  title?: string;
  description: string;
  arguments?: { name: string; description: string; required?: boolean }[];
  /** The prompt's messages, as user-role text. */
  get(ctx: Context, args: Record<string, string>): { description?: string; text: string } | Promise<{ description?: string; text: string }>;
}

export function defineResource(def: ResourceDef): ResourceDef {
  if (!def.uri === !def.template) throw new Error(`resource ${def.name}: give exactly one of uri or template`);
  return def;
}

export function definePrompt(def: PromptDef): PromptDef {
  return def;
}

/** Matches a URI against an RFC 6570 level-1 template (`{var}` segments); null when it does not fit, InputError when it cannot be decoded. */
export function matchTemplate(template: string, uri: string): Record<string, string> | null {
  const keys: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, k: string) => (keys.push(k), '([^/]+)'));
  const m = new RegExp(`^${source}$`).exec(uri);
  if (!m) return null;
  try {
    return Object.fromEntries(keys.map((k, i) => [k, decodeURIComponent(m[i + 1] as string)]));
  } catch {
    throw new InputError('uri', `${JSON.stringify(uri)} has a malformed percent-escape`);
  }
}
