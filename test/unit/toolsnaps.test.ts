import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toolListing } from '../../src/mcp/server.js';
import { ALL_TOOLS } from '../../tools/index.js';

/**
 * Every tool's listing (name, description, schemas, annotations) is kept in test/__toolsnaps__,
 * so a change to the tool surface every agent reads shows up in review. After an intended
 * change: UPDATE_TOOLSNAPS=1 npx vitest run test/unit/toolsnaps.test.ts
 */
const DIR = fileURLToPath(new URL('../__toolsnaps__', import.meta.url));

describe('tool surface snapshots', () => {
  for (const tool of ALL_TOOLS) {
    it(tool.name, () => {
      const file = path.join(DIR, `${tool.name}.json`);
      const now = `${JSON.stringify(toolListing(tool), null, 2)}\n`;
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
