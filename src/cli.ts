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
import { classifyCommand } from './classify.js';
import { INTENTS } from './domain/risk.js';

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
  classify: {
    summary: 'classify the change as Ship / Show / Ask (exit 0 / 10 / 20)',
    usage: `factory-mcp classify [--base REV] [--head REV] [--intent KIND] [--json] [--label]

Classifies the change from BASE (default: the merge base with the default branch, origin/HEAD
else main else master) to HEAD (default: the working tree, uncommitted and untracked files
included) with the Ship / Show / Ask rules (built in, plus "changes" in factory.config.json),
and prints the verdict with every rule that fired. For CI and git hooks, the exit code is:
  0 ship (merge now)   10 show (merge, review after)   20 ask (wait for a human)
  2 bad input or configuration                          3 --label failed (verdict still printed)
  --intent KIND   what the change claims to be: ${INTENTS.join(', ')} (the diff wins)
  --json          print the result as JSON
  --label         put exactly one of the labels ship/show/ask on the open pull request of the
                  branch (GITHUB_TOKEN; owner/repo from "github" in the config, else the origin remote)`,
    options: { base: { type: 'string' }, head: { type: 'string' }, intent: { type: 'string' }, json: { type: 'boolean' }, label: { type: 'boolean' } },
    run: (v) => classifyCommand(v),
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
