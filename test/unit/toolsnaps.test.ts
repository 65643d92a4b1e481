import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toolListing } from '../../src/mcp/server.js';
import { ALL_TOOLS } from '../../tools/index.js';

/**
 * Every tool's listing (name, description, schemas, annotations) is kept in test/__toolsnaps__,
 * so a change to the tool surface every agent reads shows up in review; `output_fields` (not
 * sent: tools/list gives the output schema as a bare object) keeps a renamed answer field in
 * review too. After an intended change: UPDATE_TOOLSNAPS=1 npx vitest run test/unit/toolsnaps.test.ts
 */
const DIR = fileURLToPath(new URL('../__toolsnaps__', import.meta.url));

/** The budget of the whole tools/list answer, in UTF-8 bytes of its JSON. */
const BUDGET = 12 * 1024;

describe('tool surface snapshots', () => {
  for (const tool of ALL_TOOLS) {
    it(tool.name, () => {
      const file = path.join(DIR, `${tool.name}.json`);
      const now = `${JSON.stringify({ ...toolListing(tool), output_fields: Object.keys(tool.output.shape) }, null, 2)}\n`;
      if (process.env.UPDATE_TOOLSNAPS === '1') fs.writeFileSync(file, now);
      expect(fs.existsSync(file), `${file} missing: run with UPDATE_TOOLSNAPS=1`).toBe(true);
      expect(now).toBe(fs.readFileSync(file, 'utf8'));
    });
  }

  it('has no snapshot of a tool that no longer exists', () => {
    const names = new Set(ALL_TOOLS.map((t) => `${t.name}.json`));
    expect(fs.readdirSync(DIR).filter((f) => !names.has(f))).toEqual([]);
  });
});

/** Paths of the properties, at any depth of a schema (objects, array items, anyOf branches), that have no description. */
function undescribed(schema: unknown, at = ''): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const node = schema as Record<string, unknown>;
  const out: string[] = [];
  for (const [name, prop] of Object.entries((node.properties as Record<string, unknown> | undefined) ?? {})) {
    const p = at ? `${at}.${name}` : name;
    const d = (prop as { description?: unknown }).description;
    if (typeof d !== 'string' || !d.trim()) out.push(p);
    out.push(...undescribed(prop, p));
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties') continue;
    if (k === 'items') out.push(...undescribed(v, `${at}[]`));
    else if (Array.isArray(v)) v.forEach((x) => out.push(...undescribed(x, at)));
    else if (k === '$defs' || k === 'definitions') for (const [n, d] of Object.entries(v as Record<string, unknown>)) out.push(...undescribed(d, `#${n}`));
  }
  return out;
}

describe('every field explained, within the budget', () => {
  const listing = { tools: ALL_TOOLS.map(toolListing) };

  it('every tool states all four annotations as booleans', () => {
    const HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'];
    const missing = listing.tools.flatMap((t) => HINTS.filter((h) => typeof (t.annotations as Record<string, unknown> | undefined)?.[h] !== 'boolean').map((h) => `${t.name}.${h}`));
    expect(missing).toEqual([]);
  });

  it('every input property, at any depth, has a description', () => {
    expect(listing.tools.flatMap((t) => undescribed(t.inputSchema).map((p) => `${t.name}: ${p}`))).toEqual([]);
  });

  it(`the whole tools/list stays within ${BUDGET} bytes`, () => {
    expect(Buffer.byteLength(JSON.stringify(listing))).toBeLessThanOrEqual(BUDGET);
  });

  it('the description check reaches nested objects, array items and anyOf branches', () => {
    const nested = {
      type: 'object',
      properties: {
        a: { description: 'x', type: 'array', items: { type: 'object', properties: { b: { type: 'string' } } } },
        c: { description: 'y', anyOf: [{ type: 'object', properties: { d: { type: 'number' } } }] },
      },
    };
    expect(undescribed(nested)).toEqual(['a[].b', 'c.d']);
  });
});
