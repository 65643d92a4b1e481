#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { findRepoRoot, loadConfig, resolveDbPath } from './config.js';
import { stderrLogger } from './logger.js';
import { renderBoardLines } from './render.js';
import { createServer, SERVER_VERSION } from './server.js';
import { Store } from './store/index.js';
import type { Toolset } from './tool.js';
import { ConfigError, InputError } from './errors.js';
import { SchemaTooNewError } from './store/db.js';
import path from 'node:path';
import { Session } from './context.js';
import { exportState } from './export.js';
import { operationLine } from './domain/sessions.js';
import { ClaimFileSchema } from '../schemas/sessions.js';
import { formatIssues } from '../schemas/common.js';

const TOOLSETS: readonly Toolset[] = ['phases', 'sessions', 'council', 'changes', 'dod'];

const COMMON = {
  db: { type: 'string' },
  cwd: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  run(values: Record<string, unknown>, positionals: string[]): Promise<number> | number;
}

const COMMANDS: Record<string, Command> = {
  stdio: {
    summary: 'serve MCP over stdio (the default when no command is given)',
    usage: `factory-mcp [stdio] [--db FILE] [--read-only] [--toolsets a,b]

Serves the factory tools over stdio, one process per agent session. All processes of a
repository share one database (default .factory/factory.db at the git root).
  --read-only        only the read-only tools (for observers and dashboards)
  --toolsets LIST    only these toolsets: ${TOOLSETS.join(', ')}`,
    options: { 'read-only': { type: 'boolean' }, toolsets: { type: 'string' } },
    run: runStdio,
  },
  status: {
    summary: 'print the board: MEGAs, phases, owners',
    usage: `factory-mcp status [--mega KEY] [--json] [--db FILE]

Prints every MEGA with its phases: done (✔), claimed (▶, owner and lease), ready (○), blocked (·).`,
    options: { mega: { type: 'string' }, json: { type: 'boolean' } },
    run: (v) =>
      withStore(v, (store) => {
        const megas = store.phases.board(v.mega as string | undefined);
        if (v.json) process.stdout.write(`${JSON.stringify({ megas }, null, 2)}\n`);
        else process.stdout.write(`${renderBoardLines(megas, { color: process.stdout.isTTY === true }).join('\n')}\n`);
        return 0;
      }),
  },
  log: {
    summary: 'print the operations log, or verify its hash chain (--verify)',
    usage: `factory-mcp log [--limit N] [--json] [--verify] [--db FILE]

Prints the latest N (default 50) entries of the append-only operations log, oldest first.
  --json     one JSON object per entry
  --verify   recompute the whole hash chain; names the first edited, deleted or inserted
             entry and exits 1 if the log was tampered with`,
    options: { limit: { type: 'string' }, json: { type: 'boolean' }, verify: { type: 'boolean' } },
    run: (v) => withStore(v, (store) => runLog(store, v)),
  },
  export: {
    summary: 'write memory.md, plan.md, operations.log, checkpoints/ and megas/ from the database',
    usage: `factory-mcp export [--dir DIR] [--db FILE]

Writes readable files for humans and git (default DIR: factory-state/ at the repository root):
memory.md, plan.md, operations.log (every entry, SESSION-START/SESSION-END included),
checkpoints/<id>-<MEGA>-<phase>.json and megas/<MEGA>.json (claim files that import reads).`,
    options: { dir: { type: 'string' } },
    run: (v) => {
      const { store, root } = open(v);
      try {
        const dir = path.resolve(root, (v.dir as string | undefined) ?? 'factory-state');
        const files = exportState(store, dir);
        process.stdout.write(`exported ${files.length} files to ${dir}\n`);
        return 0;
      } finally {
        store.close();
      }
    },
  },
  import: {
    summary: 'create a MEGA from a claim file, keeping its completions',
    usage: `factory-mcp import FILE [--db FILE]

Reads a claim file {"mega": "CAB-1290", "title"?, "phases": [{id, name, points?, tickets, deps,
owner, claimed_at, completed_at}]} and creates (or re-plans) the MEGA. Completed phases stay
completed (by their owner, at their time); open claims are logged as released history.`,
    options: {},
    run: (v, args) => {
      const file = args[0];
      if (!file) throw new InputError('FILE', 'give the claim file to import');
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new InputError('FILE', `${file}: ${(e as Error).message}`);
      }
      const parsed = ClaimFileSchema.safeParse(raw);
      if (!parsed.success) throw new InputError('FILE', `${file}: ${formatIssues(parsed.error)}`);
      return withStore(v, (store) => {
        store.transfer.check(parsed.data); // bad times are named before anything is written
        const session = new Session(store, { transport: 'cli', pid: process.pid, agent: 'factory-mcp import' }, Date.now, Math.random);
        let summary = 'import failed';
        try {
          const r = store.transfer.importClaimFile(session.instance, parsed.data, Date.now());
          summary = r.message;
          process.stdout.write(`${r.message}\n`);
          return 0;
        } finally {
          store.continuity.end(session.instance, { summary }, Date.now());
        }
      });
    },
  },
  demo: {
    summary: 'run four simulated agents on a fresh database and print the board',
    usage: `factory-mcp demo [--agents N]

Starts N (default 4) MCP clients, each with its own factory-mcp stdio process on one fresh
temporary database, plans a MEGA of twelve phases, and lets them claim, chain and complete phases in parallel.`,
    options: { agents: { type: 'string' } },
    run: async (v) => {
      const { runDemo } = await import('../scripts/demo.js');
      await runDemo({ agents: v.agents ? Number(v.agents) : undefined });
      return 0;
    },
  },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}`);
  return `factory-mcp ${SERVER_VERSION} — MCP server that coordinates several coding agents on one repository

Usage: factory-mcp [command] [options]

Commands:
${lines.join('\n')}

Common options:
  --db FILE    database file (default: $FACTORY_DB, else .factory/factory.db at the git root)
  --cwd DIR    act as if started in DIR
  -h, --help   help for a command: factory-mcp <command> --help
  --version    print the version
`;
}

function open(v: Record<string, unknown>): { store: Store; root: string; config: ReturnType<typeof loadConfig> } {
  const root = findRepoRoot((v.cwd as string | undefined) ?? process.cwd());
  const config = loadConfig(root);
  const store = Store.open(resolveDbPath(root, v.db as string | undefined), { leaseSeconds: config.lease_seconds });
  return { store, root, config };
}

async function withStore(v: Record<string, unknown>, fn: (store: Store) => number | Promise<number>): Promise<number> {
  const { store } = open(v);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

function runLog(store: Store, v: Record<string, unknown>): number {
  if (v.verify) {
    const t0 = performance.now();
    const r = store.operations.verify();
    const ms = performance.now() - t0;
    if (v.json) process.stdout.write(`${JSON.stringify({ ...r, ms: Math.round(ms) })}\n`);
    else if (r.ok) process.stdout.write(`ok: ${r.entries} entries, hash chain intact (${Math.round(ms)} ms)\n`);
    else process.stdout.write(`TAMPERED: entry #${r.problem?.seq} ${r.problem?.problem}: ${r.problem?.detail}\n`);
    return r.ok ? 0 : 1;
  }
  const limit = v.limit === undefined ? 50 : Number(v.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit', 'a whole number ≥ 1');
  const ops = store.operations.recent(limit);
  const lines = v.json ? ops.map((o) => JSON.stringify(o)) : ops.map(operationLine);
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function runStdio(v: Record<string, unknown>): Promise<number> {
  const logger = stderrLogger();
  let toolsets: Toolset[] | undefined;
  if (typeof v.toolsets === 'string') {
    toolsets = v.toolsets.split(',').map((s) => s.trim()).filter(Boolean) as Toolset[];
    const bad = toolsets.filter((t) => !TOOLSETS.includes(t));
    if (bad.length) throw new InputError('--toolsets', `unknown toolset ${bad.join(', ')} (known: ${TOOLSETS.join(', ')})`);
  }
  const { store, root, config } = open(v);
  const fs_ = createServer({ store, config, root, logger, session: { transport: 'stdio', pid: process.pid }, readOnly: v['read-only'] === true, toolsets });
  const transport = new StdioServerTransport();
  let closed = false;
  const shutdown = (why: string) => {
    if (closed) return;
    closed = true;
    try {
      fs_.cleanup();
    } finally {
      store.close();
    }
    logger.info(`stopped (${why})`);
    process.exit(0);
  };
  transport.onclose = () => shutdown('client disconnected');
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await fs_.server.connect(transport);
  logger.info(`serving over stdio (db ${store.db.name})`);
  return new Promise<number>(() => {}); // runs until the client goes away
}

export async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(help());
    return 0;
  }
  const named = first !== undefined && !first.startsWith('-');
  const name = named ? first : 'stdio';
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`factory-mcp: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: named ? argv.slice(1) : argv, options: { ...COMMON, ...cmd.options }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`factory-mcp ${name}: ${(e as Error).message}\n\n${cmd.usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(parsed.values as Record<string, unknown>, parsed.positionals);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof InputError || e instanceof SchemaTooNewError) {
      process.stderr.write(`factory-mcp ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

const invokedDirectly = process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`factory-mcp: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
