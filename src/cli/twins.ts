import fs from 'node:fs';
import path from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { formatIssues } from '../../schemas/common.js';
import { InputError } from '../core/errors.js';
import { phaseIdFromStore } from '../core/ids.js';
import type { PhaseRow } from '../phases/store.js';
import { ALL_TOOLS } from '../../tools/index.js';
import { invoke, report, type Acting, type CliAt } from './call.js';
import { givenKey, keySession, nextCommand, sessionStart } from './session.js';

/**
 * The terminal twins of the tools: each is a table entry mapping argv to the tool's input, and
 * every one runs through `invoke` (src/cli/call.ts), the MCP call path, so no twin holds a copy
 * of a tool's logic. Flags mirror the tools' input fields (`lease_seconds` → `--lease-seconds`).
 *
 * `session`: `required` acts as the CLI session of --session / FACTORY_SESSION and refuses to run
 * without one (a claim made in a process that then exits would be held by nobody); `optional`
 * acts as it when given, else as a session of its own that ends with the process; `none` reads.
 */
export interface Twin {
  tool: string;
  summary: string;
  /** The synopsis after `factory-mcp`, and what the options mean. */
  usage: string;
  options: ParseArgsConfig['options'];
  session: 'required' | 'optional' | 'none';
  /** Fixed words the first argument takes (completion). */
  words?: readonly string[];
  /** What a schema error outside the flags is named by (the file the input came from). */
  source?: string;
  /** Flags of nested fields whose last name is another flag's (`progress.files` → --touched). */
  paths?: Record<string, string>;
  /** argv → the tool's input; `held` finds the claim of the acting session a token belongs to. */
  input(v: Record<string, unknown>, pos: string[], held: (token: string) => { mega: string; phase: number | string } | undefined): unknown;
  exit?(out: Record<string, unknown>): number;
  /** A line after the answer's text: the next command to run. */
  more?(out: Record<string, unknown>): string | null;
}

export const EXIT_CODES = `Exit codes: 0 done; 1 refused (the answer's reason: claimed:false, stale_token, not_owner, …)
or the call failed; 2 bad input (the message names the flag or field), or no usable session.`;

const SESSION_USAGE = `Acts as the CLI session of FACTORY_SESSION (or --session KEY), started with
  eval "$(factory-mcp session start --agent NAME)"`;

const str = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;
const list = { type: 'string', multiple: true } as const;

/** A number when the text is one; else the text, so the tool's schema names the field. */
function num(s: unknown): unknown {
  return typeof s === 'string' && /^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : s;
}

/** A phase id as the tools take it: 3 for "3", else the text. */
function phaseArg(s: unknown): unknown {
  return typeof s === 'string' && /^\d{1,10}$/.test(s.trim()) ? Number(s) : s;
}

function atMost(pos: string[], n: number, what: string): void {
  if (pos.length > n) throw new InputError(pos.length === n + 1 ? `argument ${JSON.stringify(pos[n])}` : 'arguments', `unexpected: ${what}`);
}

/** The flags naming a held claim: --token, and --mega/--phase (found from the token among this session's claims when left out). */
const CLAIM_FLAGS = { mega: str, phase: str, token: str } as const;
function claimFields(v: Record<string, unknown>, held: (token: string) => { mega: string; phase: number | string } | undefined): Record<string, unknown> {
  if (typeof v.token !== 'string') throw new InputError('--token', 'required: the token of your claim (claim printed it)');
  if (v.mega === undefined && v.phase === undefined) {
    const h = held(v.token);
    if (!h) throw new InputError('--mega', 'and --phase are required: this session holds no claim with that token');
    return { mega: h.mega, phase: h.phase, token: v.token };
  }
  return { mega: v.mega, phase: phaseArg(v.phase), token: v.token };
}

export const TWINS: Record<string, Twin> = {
  plan: {
    tool: 'plan_mega',
    summary: 'plan (or re-plan) a MEGA from a JSON or YAML file: plan_mega',
    usage: `plan FILE [--json]

Plans the MEGA that FILE describes, or re-plans it: claims and completions stay, phases left out
are dropped. FILE is JSON or YAML (.yaml/.yml), the plan_mega input:
  key: CAB-1290
  title: Checkout
  phases:
    - { id: 1, name: schema, points: 3 }
    - { id: 2, name: api, deps: [1], tickets: [CAB-1291] }`,
    options: {},
    session: 'optional',
    source: 'FILE',
    input: (_v, pos) => {
      atMost(pos, 1, 'plan takes one FILE');
      if (!pos[0]) throw new InputError('FILE', 'give the plan file (JSON or YAML)');
      return readPlan(pos[0]);
    },
  },
  claim: {
    tool: 'claim_phase',
    summary: 'claim a phase (the next ready one, or --phase ID): claim_phase',
    usage: `claim [MEGA] [--phase ID] [--lease-seconds N] [--files GLOB]… [--json]

Claims --phase ID of MEGA, or the next ready phase (of MEGA, or of any MEGA). Prints the token the
other commands take (--token). --files (repeats) reserves the globs you will edit (docs/pipeline.md).`,
    options: { mega: str, phase: str, 'lease-seconds': str, files: list },
    session: 'required',
    input: (v, pos) => {
      atMost(pos, 1, 'claim takes one MEGA');
      if (pos[0] !== undefined && v.mega !== undefined && pos[0] !== v.mega) throw new InputError('--mega', `and the argument ${JSON.stringify(pos[0])} name different MEGAs`);
      return { mega: pos[0] ?? v.mega, phase: phaseArg(v.phase), lease_seconds: num(v['lease-seconds']), files: v.files };
    },
    more: (out) => nextCommand(out),
  },
  heartbeat: {
    tool: 'heartbeat',
    summary: 'extend the lease of your claim: heartbeat',
    usage: `heartbeat --token T [--mega KEY --phase ID] [--json]

--mega and --phase may be left out: the claim of this session with that token.`,
    options: CLAIM_FLAGS,
    session: 'required',
    input: (v, pos, held) => (atMost(pos, 0, 'heartbeat takes flags only'), claimFields(v, held)),
  },
  checkpoint: {
    tool: 'checkpoint',
    summary: 'save progress on your claim (or the session): checkpoint',
    usage: `checkpoint [--token T [--mega KEY --phase ID]] [--done STEP]… [--next STEP]… [--percent N] [--touched FILE]… [--note TEXT] [--files GLOB]… [--json]

With --token, on that claim (--mega/--phase found from the token when left out); without, a
checkpoint of the session (of --mega when given). --done, --next, --touched (progress.files: the
files touched) and --files (globs added to the claim's file reservation) repeat.`,
    options: { ...CLAIM_FLAGS, done: list, next: list, percent: str, touched: list, note: str, files: list },
    session: 'required',
    paths: { 'progress.files': '--touched' },
    input: (v, pos, held) => {
      atMost(pos, 0, 'checkpoint takes flags only');
      const on = v.token !== undefined ? claimFields(v, held) : { mega: v.mega, phase: phaseArg(v.phase) };
      const progress = { done: v.done ?? [], next: v.next ?? [], percent: num(v.percent), files: v.touched };
      return { ...on, progress, note: v.note, files: v.files };
    },
  },
  complete: {
    tool: 'complete_phase',
    summary: 'complete your phase (and --chain: claim the next): complete_phase',
    usage: `complete --token T [--mega KEY --phase ID] [--chain] [--lease-seconds N] [--json]

Marks the phase done (once check_dod passes, when the config requires it); --chain then claims the
next ready phase and prints its token.`,
    options: { ...CLAIM_FLAGS, chain: flag, 'lease-seconds': str },
    session: 'required',
    input: (v, pos, held) => (atMost(pos, 0, 'complete takes flags only'), { ...claimFields(v, held), chain: v.chain, lease_seconds: num(v['lease-seconds']) }),
    more: (out) => nextCommand(out.next),
  },
  merge: {
    tool: 'merge_phase',
    summary: "squash-merge your phase's pull request when its gates hold, then complete it: merge_phase",
    usage: `merge --token T [--mega KEY --phase ID] [--pr N | --branch NAME] [--chain] [--json]

Finds the phase's pull request (--pr, --branch, else by the phase's branch), checks the gates
(kill switch, autonomy, DoD on its head commit, Ship/Show/Ask, council) and squash-merges it at
that head; then completes the phase (--chain: claims the next). Needs GITHUB_TOKEN. Not merged
(exit 1): the answer names the gate and what to do.`,
    options: { ...CLAIM_FLAGS, pr: str, branch: str, chain: flag },
    session: 'required',
    input: (v, pos, held) => {
      atMost(pos, 0, 'merge takes flags only');
      if (v.pr !== undefined && v.branch !== undefined) throw new InputError('--pr', 'give --pr or --branch, not both');
      return { ...claimFields(v, held), pr: v.branch ?? num(v.pr), chain: v.chain };
    },
  },
  release: {
    tool: 'release_phase',
    summary: 'give your phase back unfinished: release_phase',
    usage: `release --token T --reason TEXT [--mega KEY --phase ID] [--json]`,
    options: { ...CLAIM_FLAGS, reason: str },
    session: 'required',
    input: (v, pos, held) => (atMost(pos, 0, 'release takes flags only'), { ...claimFields(v, held), reason: v.reason }),
  },
  memory: {
    tool: 'memory',
    summary: 'read the shared memory, or add to it: memory',
    usage: `memory [list] [--section S] [--limit N] [--json]
memory add SECTION TEXT [--json]          (or --section S --text TEXT)

Sections: status, decisions, known_issues. list reads (the latest --limit entries); add appends
as the CLI session when one is given, else as a session of its own.`,
    options: { section: str, text: str, limit: str },
    session: 'optional',
    words: ['list', 'add'],
    input: (v, pos) => {
      const [op = 'list', section, ...text] = pos;
      if (op === 'list' || op === 'read') {
        atMost(pos, 1, 'memory list takes flags only');
        return { op: 'read', section: v.section, limit: num(v.limit) };
      }
      if (op !== 'add' && op !== 'append') throw new InputError('argument', `${JSON.stringify(op)}: expected list or add`);
      if (section !== undefined && v.section !== undefined) throw new InputError('--section', 'given twice (as an argument and as --section)');
      if (text.length && v.text !== undefined) throw new InputError('--text', 'given twice (as arguments and as --text)');
      return { op: 'append', section: section ?? v.section, text: text.length ? text.join(' ') : v.text, limit: num(v.limit) };
    },
  },
  council: {
    tool: 'run_council',
    summary: 'run the council on a proposal file: run_council',
    usage: `council --file PROPOSAL.md [--title T] [--points N] [--mega KEY [--phase ID]] [--ticket KEY] [--reviews FILE.json] [--json]

Runs the council on the proposal in PROPOSAL.md (the subject's description; its title is --title,
else the file's first Markdown heading). Reviews come from --reviews (a JSON array of
{persona, score, rationale, concerns?, adjustments?}), else the configured reviewer command;
without either the answer is needs_reviews with each persona's brief (exit 1).`,
    options: { file: str, title: str, points: str, mega: str, phase: str, ticket: str, reviews: str },
    session: 'optional',
    source: '--file',
    input: (v, pos) => {
      atMost(pos, 0, 'council --file takes flags only');
      if (typeof v.file !== 'string') throw new InputError('--file', 'give the proposal (Markdown)');
      const description = readText(v.file, '--file').trim();
      const heading = /^#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(description)?.[1];
      const title = v.title ?? heading ?? path.basename(v.file).replace(/\.[^.]+$/, '');
      let reviews: unknown;
      if (typeof v.reviews === 'string') {
        try {
          reviews = JSON.parse(readText(v.reviews, '--reviews')) as unknown;
        } catch (e) {
          throw e instanceof InputError ? e : new InputError('--reviews', `not JSON: ${(e as Error).message}`);
        }
      }
      const subject = dropUndefined({ title, description, points: num(v.points), mega: v.mega, phase: phaseArg(v.phase), ticket: v.ticket });
      return { subject, reviews };
    },
    exit: (out) => (out.status === 'decided' ? 0 : 1),
  },
  board: {
    tool: 'board',
    summary: 'the board through the board tool (status prints it too)',
    usage: `board [MEGA] [--cursor C] [--limit N] [--json]

A summary per MEGA, or MEGA's phases, a page at a time: --cursor is the last answer's cursor.`,
    options: { cursor: str, limit: str },
    session: 'none',
    input: (v, pos) => (atMost(pos, 1, 'board takes one MEGA'), { mega: pos[0], cursor: v.cursor, limit: num(v.limit) }),
  },
};

/** Input files are small: a bigger one is a mistake, refused before it is read. */
const INPUT_FILE_MAX = 4 * 1024 * 1024;

function readText(file: string, flagName: string): string {
  try {
    if (fs.statSync(file).size > INPUT_FILE_MAX) throw new Error(`larger than ${INPUT_FILE_MAX / 1024 / 1024} MiB`);
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(flagName, `${file}: ${(e as Error).message}`);
  }
}

/** Reads a plan file: JSON (.json), else YAML (a superset of JSON) through the `yaml` package, aliases capped. */
async function readPlan(file: string): Promise<unknown> {
  const text = readText(file, 'FILE');
  try {
    if (path.extname(file).toLowerCase() === '.json') return JSON.parse(text) as unknown;
    const { parse } = await import('yaml');
    return parse(text, { maxAliasCount: 50 }) as unknown;
  } catch (e) {
    throw new InputError('FILE', `${file}: not ${path.extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML or JSON'}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The flag a schema path names: its last segment that is one of the twin's flags, else the field. */
function flagOf(path: readonly PropertyKey[], options: ParseArgsConfig['options'], t: Pick<Twin, 'source' | 'paths'>): string {
  for (const [prefix, f] of Object.entries(t.paths ?? {})) if (path.map(String).join('.').startsWith(prefix)) return f;
  for (const seg of [...path].reverse()) {
    if (typeof seg !== 'string') continue;
    const f = seg.replace(/_/g, '-');
    if (options && f in options) return `--${f}`;
  }
  return t.source ?? 'input';
}

/** What a twin command needs from the CLI: its store, config and environment for one run. */
export type WithAt = (v: Record<string, unknown>, fn: (at: CliAt) => Promise<number>) => Promise<number>;

/** A twin as a command of src/cli.ts: usage with the session and exit-code notes, options with --json and --session. */
export function twinCommand(name: string, t: Twin, withAt: WithAt) {
  const tool = ALL_TOOLS.find((x) => x.name === t.tool);
  if (!tool) throw new Error(`twin ${name}: no tool ${t.tool}`);
  const options = { ...t.options, json: flag, ...(t.session === 'none' ? {} : { session: str }) };
  const usage = `factory-mcp ${t.usage}

The ${t.tool} tool from a terminal, through the MCP call path. --json prints its structured answer.
${t.session === 'none' ? '' : `${SESSION_USAGE}${t.session === 'optional' ? '\n(else as a session of its own, ended when the command exits).' : '.'}\n`}${EXIT_CODES}`;
  return {
    summary: t.summary,
    usage,
    options,
    words: t.words,
    run: (v: Record<string, unknown>, pos: string[]) =>
      withAt(v, async (at) => {
        const given = t.session === 'none' ? null : givenKey(v, at.env);
        const instance = t.session === 'required' || given ? await keySession(at.store, given) : null;
        const claims = instance ? await at.store.phases.claimsOf(instance) : [];
        const input = dropUndefined(await t.input(v, pos, (token) => heldClaim(claims, token)));
        const parsed = tool.input.safeParse(input);
        if (!parsed.success) throw new InputError(flagOf(parsed.error.issues[0]?.path ?? [], options, t), formatIssues(parsed.error));
        const acting: Acting = instance ? { attach: instance } : { agent: `factory-mcp ${name}` };
        return report(name, await invoke(t.tool, input, at, acting), v.json === true, t);
      }),
  };
}

/** The claim (of the acting session's `claims`) whose current token is `token`. */
function heldClaim(claims: readonly PhaseRow[], token: string): { mega: string; phase: number | string } | undefined {
  const c = claims.find((row) => row.token === token);
  return c ? { mega: c.mega, phase: phaseIdFromStore(c.id, c.id_kind) } : undefined;
}

/** Flags not given are left out (a plan file's content goes as it is). */
function dropUndefined(o: unknown): unknown {
  return o !== null && typeof o === 'object' && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) : o;
}

/** `factory-mcp session start|end`: start prints the key (src/cli/session.ts); end is the session_end twin. */
export function sessionCommand(withAt: WithAt) {
  const end = twinCommand(
    'session end',
    {
      tool: 'session_end',
      summary: '',
      usage: '',
      options: { summary: str, release: flag },
      session: 'required',
      input: (v, pos) => (atMost(pos, 0, 'session end takes flags only'), { summary: v.summary, release: v.release }),
    },
    withAt,
  );
  return {
    summary: 'start a CLI session (prints its key for FACTORY_SESSION) or end it',
    usage: `factory-mcp session start [--agent NAME] [--resume ID|all] [--json]
factory-mcp session end [--summary TEXT] [--release] [--json]

Each factory-mcp command is its own process, and a claim token works only in the session that
claimed it. A CLI session outlives its commands: start one in your shell with
  eval "$(factory-mcp session start --agent NAME)"
which sets FACTORY_SESSION to its secret key (printed once, as \`export FACTORY_SESSION=…\`;
the answer goes to stderr; --json prints the session_start answer with "key" instead). Every
command then acts as that session: claim, heartbeat, checkpoint, complete, release, memory add,
plan, council --file, call, and session end. --session KEY does the same for one command.
Only a hash of the key is stored. A session idle longer than the lease counts as interrupted,
as an HTTP client does: its claims can then be adopted.
  --resume ID|all    adopt the claims of an interrupted or parked session (as session_start)
  --summary TEXT     what the session did (logged)
  --release          release its claims instead of parking them for a resume
${EXIT_CODES}`,
    options: { agent: str, resume: str, json: flag, session: str, summary: str, release: flag },
    words: ['start', 'end'],
    run: (v: Record<string, unknown>, pos: string[]) => {
      const [sub, ...rest] = pos;
      if (sub === 'end') {
        for (const f of ['agent', 'resume'] as const) if (v[f] !== undefined) throw new InputError(`--${f}`, 'is for session start');
        return end.run(v, rest);
      }
      if (sub !== 'start') throw new InputError('argument', `${sub === undefined ? 'give' : `${JSON.stringify(sub)}: expected`} start or end`);
      atMost(rest, 0, 'session start takes flags only');
      for (const f of ['session', 'summary', 'release'] as const) if (v[f] !== undefined) throw new InputError(`--${f}`, 'is for session end');
      return withAt(v, (at) => sessionStart(v, at));
    },
  };
}
