/**
 * The demo: a real `factory-mcp http` server with its dashboard on a fresh database, and four
 * simulated agents that plan a MEGA of twelve phases and finish it in parallel over HTTP — or,
 * with `--stdio`, each agent with its own `factory-mcp` stdio process on the same database
 * (the dashboard server watches either way). One line per claim and completion as they happen,
 * then the board and what to do next; the temporary database is removed at the end unless `--keep`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { renderBoardLines } from '../src/phases/render.js';
import type { BoardMega } from '../src/phases/service.js';

// From dist/scripts/demo.js the CLI is dist/src/cli.js; from the TypeScript source (tests), the built one.
const built = import.meta.url.includes('/dist/scripts/');
export const CLI = fileURLToPath(new URL(built ? '../src/cli.js' : '../dist/src/cli.js', import.meta.url));

export const DEMO_PLAN = {
  key: 'DEMO-1',
  title: 'Payments platform',
  phases: [
    { id: 1, name: 'API + Gateway', points: 5, tickets: ['DEMO-11'], deps: [] },
    { id: 2, name: 'Data model + migrations', points: 3, tickets: ['DEMO-12'], deps: [] },
    { id: 3, name: 'Auth + sessions', points: 5, tickets: ['DEMO-13'], deps: [1] },
    { id: 4, name: 'Billing service', points: 5, tickets: ['DEMO-14'], deps: [2] },
    { id: 5, name: 'Webhooks', points: 3, tickets: ['DEMO-15'], deps: [1, 2] },
    { id: 6, name: 'Admin UI', points: 5, tickets: ['DEMO-16'], deps: [3] },
    { id: 7, name: 'Customer portal', points: 5, tickets: ['DEMO-17'], deps: [3, 4] },
    { id: 8, name: 'Invoicing', points: 3, tickets: ['DEMO-18'], deps: [4] },
    { id: 9, name: 'Notifications', points: 2, tickets: ['DEMO-19'], deps: [5] },
    { id: 10, name: 'Metrics + alerts', points: 2, tickets: ['DEMO-20'], deps: [5] },
    { id: 11, name: 'Load tests', points: 3, tickets: ['DEMO-21'], deps: [7, 8] },
    { id: 12, name: 'Docs + rollout', points: 2, tickets: ['DEMO-22'], deps: [6, 9, 10, 11] },
  ],
};

const AGENTS = ['claude-code', 'cursor', 'codex', 'aider', 'gemini', 'copilot', 'cline', 'zed'];

interface ClaimAnswer {
  claimed: boolean;
  phase?: { id: number | string; name: string; points: number | null };
  token?: string;
  reason?: string;
  owner?: string;
  remaining?: number;
}

export interface AgentReport {
  agent: string;
  instance: string;
  phases: (number | string)[];
  points: number;
  refused: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function connectAgent(db: string, agent: string, extraEnv: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: agent, version: '1.0.0' });
  const env: Record<string, string> = { ...(process.env as Record<string, string>), FACTORY_DB: db, FACTORY_LOG: 'silent', ...extraEnv };
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI], env, stderr: 'inherit' }));
  return client;
}

export async function connectHttpAgent(url: string, agent: string): Promise<Client> {
  const client = new Client({ name: agent, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  return client;
}

/** Starts `factory-mcp http` on an ephemeral port and resolves with its base URL. */
export async function startHttpServer(db: string, at: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', db], {
    cwd: at.cwd,
    env: { ...process.env, FACTORY_LOG: 'silent', ...at.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /MCP at (http:\/\/[^/\s]+)\/mcp/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`factory-mcp http exited with ${code}`)));
  });
  return { url, child };
}

export async function call<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** What an agent just did, for the one-line-per-event progress. */
export type DemoEvent = { agent: string; instance: string; kind: 'claimed' | 'completed'; phase: NonNullable<ClaimAnswer['phase']> };

/** One progress line: elapsed time, agent, what happened to which phase. */
export function eventLine(e: DemoEvent, ms: number): string {
  const what = e.kind === 'claimed' ? '▶ claimed  ' : '✔ completed';
  return `  ${`+${(ms / 1000).toFixed(2)}s`.padStart(7)}  ${e.agent.padEnd(12)} ${e.instance.padEnd(7)} ${what} ${String(e.phase.id).padStart(2)} ${e.phase.name}${e.kind === 'completed' ? ` (${e.phase.points ?? 0} pts)` : ''}`;
}

/** One simulated agent: races for phase 1, then claims, works, completes with chaining until nothing is left. */
async function runAgent(client: Client, agent: string, msPerPoint: number, onEvent: (e: DemoEvent) => void): Promise<AgentReport> {
  const report: AgentReport = { agent, instance: '', phases: [], points: 0, refused: 0 };
  let claim = await call<ClaimAnswer & { owner?: string }>(client, 'claim_phase', { mega: DEMO_PLAN.key, phase: 1 });
  for (;;) {
    if (!claim.claimed) {
      report.refused++;
      if (claim.remaining === 0) break;
      await sleep(10);
      claim = await call<ClaimAnswer>(client, 'claim_phase', { mega: DEMO_PLAN.key });
      continue;
    }
    report.instance ||= claim.owner ?? '';
    const phase = claim.phase as NonNullable<ClaimAnswer['phase']>;
    onEvent({ agent, instance: report.instance, kind: 'claimed', phase });
    await sleep((phase.points ?? 1) * msPerPoint * (0.7 + Math.random() * 0.6)); // the "work"
    const done = await call<{ completed: boolean; next?: ClaimAnswer }>(client, 'complete_phase', {
      mega: DEMO_PLAN.key,
      phase: phase.id,
      token: claim.token,
      chain: true,
    });
    if (!done.completed) throw new Error(`${agent} lost ${phase.id}`);
    report.phases.push(phase.id);
    report.points += phase.points ?? 0;
    onEvent({ agent, instance: report.instance, kind: 'completed', phase });
    claim = done.next ?? { claimed: false, remaining: 1 };
  }
  return report;
}

export interface DemoOptions {
  agents?: number | undefined;
  /** 'http' (default): agents talk to one factory-mcp http server; 'stdio': one process each. */
  transport?: 'http' | 'stdio';
  msPerPoint?: number;
  /** Keep the dashboard server running after the agents finish (until Ctrl+C). */
  keepOpen?: boolean;
  /** Keep the temporary database (and its folder) after the run; removed otherwise. */
  keep?: boolean;
  out?: (s: string) => void;
}

/** The CLI as a command to type: relative to the current folder when under it (npm run demo runs in the package). */
function cliCommand(): string {
  const rel = path.relative(process.cwd(), CLI);
  return `node ${rel.startsWith('..') || path.isAbsolute(rel) ? CLI : rel}`;
}

/** What to do after the demo: init in your repository, and how to look at this run's database. */
export function nextSteps(db: string, opts: { keep: boolean; open: boolean }): string[] {
  const cli = cliCommand();
  const inspect = `${cli} status --db ${db}`;
  return [
    '\nwhat next:',
    `  in your repository:  npx factory-mcp init    (after npm install -D factory-mcp; or node ${CLI} init there)`,
    opts.keep
      ? `  inspect this run:    ${inspect}    (kept: remove ${path.dirname(db)} when done)`
      : opts.open
        ? `  inspect this run:    ${inspect}    (removed when the dashboard stops; --keep keeps it)`
        : `  this run's database is removed now; run with --keep to inspect it with \`${cli} status --db …\``,
  ];
}

export async function runDemo(opts: DemoOptions = {}): Promise<{ reports: AgentReport[]; board: BoardMega[]; ms: number; url: string; db: string }> {
  const out = opts.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const n = Math.min(Math.max(opts.agents ?? 4, 1), AGENTS.length);
  const transport = opts.transport ?? 'http';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-demo-'));
  const db = path.join(dir, 'factory.db');
  const server = await startHttpServer(db);
  out(`factory-mcp demo — dashboard: ${server.url}/  (open it to watch)`);
  out(transport === 'http' ? `${n} agents share one factory-mcp http server at ${server.url}/mcp; database ${db}\n` : `${n} agents, each with its own factory-mcp stdio process, share ${db}\n`);
  const names = AGENTS.slice(0, n);
  let clients: Client[] = [];
  try {
    clients = await Promise.all(names.map((a) => (transport === 'http' ? connectHttpAgent(server.url, a) : connectAgent(db, a))));
    const planned = await call<{ ready: unknown[] }>(clients[0] as Client, 'plan_mega', DEMO_PLAN);
    out(`${AGENTS[0]} planned ${DEMO_PLAN.key} "${DEMO_PLAN.title}": ${DEMO_PLAN.phases.length} phases, ready now: ${planned.ready.join(', ')}`);
    out(`all ${n} agents race for phase 1 — the first claim wins — then take ready phases and chain.\n`);
    const t0 = Date.now();
    const onEvent = (e: DemoEvent) => out(eventLine(e, Date.now() - t0));
    const reports = await Promise.all(clients.map((c, i) => runAgent(c, names[i] as string, opts.msPerPoint ?? 40, onEvent)));
    const ms = Date.now() - t0;
    const { megas } = await call<{ megas: BoardMega[] }>(clients[0] as Client, 'board', {});
    out('');
    out(renderBoardLines(megas, { color: process.stdout.isTTY === true }).join('\n'));
    out('\nwho did what:');
    for (const r of reports) {
      out(
        `  ${r.agent.padEnd(12)} ${r.instance.padEnd(7)} ${String(r.phases.length).padStart(2)} phase${r.phases.length === 1 ? ' ' : 's'}, ${String(r.points).padStart(2)} pts: ${r.phases.join(', ') || '—'}`,
      );
    }
    const total = reports.reduce((a, r) => a + r.phases.length, 0);
    out(`\n${total} phases completed exactly once by ${n} agents in ${(ms / 1000).toFixed(2)} s`);
    out(nextSteps(db, { keep: opts.keep === true, open: opts.keepOpen === true }).join('\n'));
    if (opts.keepOpen) {
      out(`\ndashboard still running at ${server.url}/ — press Ctrl+C to stop`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return { reports, board: megas, ms, url: server.url, db };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    const exited = new Promise((r) => (server.child.exitCode !== null ? r(null) : server.child.once('exit', r)));
    server.child.kill('SIGTERM');
    await exited; // the server lets go of the database before its folder goes
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `npm run demo` and `factory-mcp demo`: the pipeline (claim → worktree → PR → gates → merge) by
 * default; `--simple` (or `--stdio`, `--agents N`) the coordination demo without git. In a terminal
 * the agents work slowly enough to watch and the dashboard stays up until Ctrl+C; `--exit` (or a
 * non-terminal stdout) runs fast and exits.
 */
export async function demoMain(flags: { simple?: boolean; stdio?: boolean; agents?: number | undefined; exit?: boolean; keep?: boolean }): Promise<void> {
  const interactive = process.stdout.isTTY === true && flags.exit !== true;
  const keep = flags.keep === true;
  if (flags.simple || flags.stdio || flags.agents !== undefined) {
    await runDemo({ agents: flags.agents, transport: flags.stdio ? 'stdio' : 'http', msPerPoint: interactive ? 250 : 40, keepOpen: interactive, keep });
    return;
  }
  const { runPipelineDemo } = await import('./demo-pipeline.js');
  await runPipelineDemo({ msPerPoint: interactive ? 250 : 0, keepOpen: interactive, keep });
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const has = (f: string) => process.argv.includes(f);
  demoMain({ simple: has('--simple'), stdio: has('--stdio'), exit: has('--exit'), keep: has('--keep') }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
