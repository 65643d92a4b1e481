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
  dod: {
    summary: 'run the 10-point Definition of Done and print the checklist',
    usage: `factory-mcp dod [--mega KEY --phase ID] [--component NAME] [--only a,b] [--json]

Runs the ten checks (compiles, tests, no_regressions, lint, format, no_secrets, pr_created,
ci_green, state_updated, session_logged) with the commands of factory.config.json (dod.components)
or the ones detected from the repository, and prints ✔ pass, ✘ fail, – skip, ! error for each.
The phase checks need --mega and --phase. Exits 0 only when all ten pass, 1 otherwise.`,
    options: { mega: { type: 'string' }, phase: { type: 'string' }, component: { type: 'string' }, only: { type: 'string' }, json: { type: 'boolean' } },
    run: async (v) => {
      const { store, root, config } = open(v);
      try {
        const { checkDod, renderDod } = await import('./dod/service.js');
        const { CheckDodInput } = await import('../schemas/dod.js');
        const parsed = CheckDodInput.safeParse({
          mega: v.mega,
          phase: typeof v.phase === 'string' && /^\d+$/.test(v.phase) ? Number(v.phase) : v.phase,
          component: v.component,
          only: typeof v.only === 'string' ? v.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
        });
        if (!parsed.success) throw new InputError('--' + String(parsed.error.issues[0]?.path[0] ?? 'args'), formatIssues(parsed.error));
        const r = await checkDod({ store, config, root, clock: Date.now, instance: null }, parsed.data);
        process.stdout.write(v.json ? `${JSON.stringify(r, null, 2)}\n` : `${renderDod(r).join('\n')}\n`);
        return r.passed ? 0 : 1;
      } finally {
        store.close();
      }
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
