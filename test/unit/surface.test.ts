import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../tools/index.js';
import { firstSentence, replaceSection, serverInstructions, WORKFLOW } from '../../src/mcp/surface.js';
import { README_FILE, readmeWithTools } from '../../scripts/gen-docs.js';
import { harness, type Harness } from '../helpers/server.js';

/** The README's tool table and the server's instructions are written from the tool list; these fail when they drift. */
describe('the surface describes itself', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('the README tool table matches tools/index.ts (run `npm run docs` after changing a tool)', () => {
    const readme = fs.readFileSync(README_FILE, 'utf8');
    expect(readme, 'README.md tool table is out of date: run npm run docs').toBe(readmeWithTools(readme));
    for (const t of ALL_TOOLS) expect(readme).toContain(`| \`${t.name}\` | ${t.title} |`);
  });

  it('the workflow names only tools that exist', () => {
    const names = new Set(ALL_TOOLS.map((t) => t.name));
    const named = WORKFLOW.match(/\b[a-z]+(?:_[a-z]+)+\b/g) ?? [];
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !names.has(n))).toEqual([]);
  });

  it('the instructions list every offered tool by toolset, marking the read-only ones, and stay compact', () => {
    const all = serverInstructions(ALL_TOOLS);
    for (const t of ALL_TOOLS) expect(all).toMatch(new RegExp(`\\b${t.name}\\b`));
    expect(all).toContain('board (read-only)');
    expect(all.startsWith(WORKFLOW)).toBe(true);
    expect(Buffer.byteLength(all)).toBeLessThan(1500);
    expect(serverInstructions(ALL_TOOLS.filter((t) => t.name === 'board'))).toBe(`${WORKFLOW}\nTools here — phases: board (read-only).`);
  });

  it('a client receives the instructions for the tools its server offers', async () => {
    h = await harness();
    const full = await h.connect();
    expect(full.client.getInstructions()).toBe(serverInstructions(ALL_TOOLS));
    const observer = await h.connect({ readOnly: true });
    expect(observer.client.getInstructions()).toContain('Tools here — phases: board (read-only).');
  });

  it('first sentences and marker sections', () => {
    expect(firstSentence('Call first: x. Then y.')).toBe('Call first: x.');
    expect(firstSentence('avg>=8 go, >=6 adjust. more')).toBe('avg>=8 go, >=6 adjust.');
    expect(firstSentence('no stop')).toBe('no stop');
    expect(firstSentence('ends here.')).toBe('ends here.');
    expect(replaceSection('a\n<b>\nold\n<e>\nz', '<b>', '<e>', 'new')).toBe('a\n<b>\nnew\n<e>\nz');
    expect(() => replaceSection('no markers', '<b>', '<e>', 'x')).toThrow(/<b> … <e> not found/);
  });
});
