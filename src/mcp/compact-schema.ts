/**
 * Shrinks a generated JSON Schema for tools/list. Every byte of the listing is read by every
 * agent on every session, so the listing keeps what a model needs to call the tool — types,
 * enums, required fields, descriptions — and leaves limits (lengths, ranges, patterns) to the
 * server's own validation, which names the field when a call breaks one. Output schemas keep
 * their top-level shape only: nested objects are just `object`.
 */
type Json = Record<string, unknown>;

const DROP = new Set(['$schema', 'additionalProperties', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'pattern', 'minItems', 'maxItems', 'default', 'format']);

export function compactSchema(schema: Json, opts: { depth?: number; descriptions?: boolean; required?: boolean; enums?: boolean } = {}): Json {
  const out = compact(schema, opts.depth ?? Infinity, opts.descriptions ?? true, opts.enums ?? true) as Json;
  if (opts.required === false) delete out.required;
  return out;
}

function compact(node: unknown, depth: number, descriptions: boolean, enums: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => compact(n, depth, descriptions, enums));
  if (typeof node !== 'object' || node === null) return node;
  const src = node as Json;
  if (depth <= 0) {
    const t = src.type ?? (src.anyOf ? undefined : 'object');
    const out: Json = t === undefined ? {} : { type: t };
    if (src.enum && enums) out.enum = src.enum;
    return out;
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (DROP.has(k)) continue;
    if (k === 'description' && !descriptions) continue;
    if (k === 'enum' && !enums) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, compact(s, depth - 1, descriptions, enums)]));
    } else if (k === 'items') {
      out.items = compact(v, depth - 1, descriptions, enums);
    } else if (k === 'anyOf') {
      const parts = (v as unknown[]).map((p) => compact(p, depth, descriptions, enums) as Json);
      // anyOf of bare types → one type list: {"type": ["integer", "string"]}
      if (parts.every((p) => Object.keys(p).length === 1 && typeof p.type === 'string')) out.type = parts.map((p) => p.type);
      else out.anyOf = parts;
    } else {
      out[k] = v;
    }
  }
  return out;
}
