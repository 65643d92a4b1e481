/**
 * The surface describing itself: the server's `instructions` and the README's tool table, both
 * written from the tool list (tools/index.ts) so neither can drift from it. Pure: no I/O.
 */
import type { AnyTool } from './tool.js';
import { tableCell as cell } from '../core/text.js';

/** The workflow an agent follows; every tool it names must exist (test/unit/surface.test.ts). */
export const WORKFLOW = `factory-mcp coordinates several agents on one repository through one shared database.
Session: session_start first (it reports crashed sessions; resume adopts their claims) … session_end last.
Work: board → plan_mega (split a MEGA into phases, once) → claim_phase (first claim wins; keep the token;
over 5 points needs run_council first) → work, with checkpoint after each step and heartbeat on long ones →
classify_change before merging (ship / show / ask) → check_dod (all ten must pass) → merge_phase (squash-merges
the PR when its gates hold) or complete_phase, with chain:true (claims the next ready phase) → repeat until remaining is 0.
A claimed:false answer is normal: read its reason and message. Never edit claim or state files by hand.`;

/** Tool names grouped by toolset, in list order: `sessions: a, b; phases: c (read-only)`. */
function byToolset(tools: readonly AnyTool[]): string {
  const groups = new Map<string, string[]>();
  for (const t of tools) {
    const names = groups.get(t.toolset) ?? [];
    names.push(t.annotations.readOnlyHint === true ? `${t.name} (read-only)` : t.name);
    groups.set(t.toolset, names);
  }
  return [...groups].map(([set, names]) => `${set}: ${names.join(', ')}`).join('; ');
}

/** The server's `instructions`: the workflow, then the tools this server offers by toolset. */
export function serverInstructions(tools: readonly AnyTool[]): string {
  return `${WORKFLOW}\nTools here — ${byToolset(tools)}.`;
}

/** A description's first sentence (up to the first `.`, `!` or `?` followed by a space or the end). */
export function firstSentence(text: string): string {
  const m = /^[\s\S]*?[.!?](?=\s|$)/.exec(text.trim());
  return (m ? m[0] : text).trim();
}

/** The README's tool table: one row per tool, in list order. */
export function toolTable(tools: readonly AnyTool[]): string {
  const rows = tools.map((t) => `| ${t.toolset} | \`${t.name}\` | ${cell(t.title)} | ${t.annotations.readOnlyHint === true ? 'yes' : 'no'} | ${cell(firstSentence(t.description))} |`);
  return ['| toolset | tool | title | read-only | what it does |', '|---|---|---|---|---|', ...rows].join('\n');
}

export const TOOLS_BEGIN = '<!-- tools:begin — generated from tools/index.ts by `npm run docs`; edit the tool files, not this table -->';
export const TOOLS_END = '<!-- tools:end -->';

/** `doc` with the text between the markers replaced by `body`; an error when a marker is missing. */
export function replaceSection(doc: string, begin: string, end: string, body: string): string {
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end, from + begin.length);
  if (from < 0 || to < 0) throw new Error(`markers ${begin} … ${end} not found`);
  return `${doc.slice(0, from + begin.length)}\n${body}\n${doc.slice(to)}`;
}
