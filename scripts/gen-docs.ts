/** Rewrites the README's tool table from the tool list (`npm run docs`); test/unit/surface.test.ts fails when it is stale. */
import fs from 'node:fs';
import path from 'node:path';
import { ALL_TOOLS } from '../tools/index.js';
import { replaceSection, toolTable, TOOLS_BEGIN, TOOLS_END } from '../src/mcp/surface.js';
import { packageRoot } from '../src/cli/init.js';

export const README_FILE = path.join(packageRoot(), 'README.md');

/** The README as it should read: its tool table written from ALL_TOOLS. */
export function readmeWithTools(readme: string): string {
  return replaceSection(readme, TOOLS_BEGIN, TOOLS_END, toolTable(ALL_TOOLS));
}

if (process.argv[1]?.endsWith('gen-docs.js')) {
  fs.writeFileSync(README_FILE, readmeWithTools(fs.readFileSync(README_FILE, 'utf8')));
  console.log(`wrote ${README_FILE}`);
}
