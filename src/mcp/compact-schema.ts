/**
 * Shrinks a generated input JSON Schema for tools/list. Every byte of the listing is read by
 * every agent on every session, so it keeps what a model needs to call the tool — types, enums,
 * required fields, descriptions — and leaves limits (lengths, ranges, patterns) to the server's
 * own validation, which names the field when a call breaks one.
 */
type Json = Record<string, unknown>;

const DROP = new Set([
  '$schema',
  'additionalProperties',
  'propertyNames',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'pattern',
  'minItems',
  'maxItems',
  'default',
  'format',
]);

/** Limits and defaults dropped, `anyOf` of bare types as one type list. */
export function compactSchema(node: unknown): Json {
  return compact(node) as Json;
}

function compact(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compact);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (DROP.has(k)) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, s]) => [p, compact(s)]));
    } else if (k === 'anyOf') {
      const parts = (v as unknown[]).map((p) => compact(p) as Json);
      // anyOf of bare types → one type list: {"type": ["integer", "string"]}
      if (parts.every((p) => Object.keys(p).length === 1 && typeof p.type === 'string')) out.type = parts.map((p) => p.type);
      else out.anyOf = parts;
    } else {
      out[k] = compact(v);
    }
  }
  return out;
}
