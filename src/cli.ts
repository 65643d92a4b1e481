#!/usr/bin/env node
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import { findRepoRoot, loadConfig, resolveDbPath, shownTarget, urlPassword } from './core/config.js';
import { holdSecrets } from './core/secrets.js';
import type { Config } from '../schemas/config.js';
import { stderrLogger } from './core/logger.js';
import { renderBoardLines } from './phases/render.js';
import { createServer, SERVER_VERSION } from './mcp/server.js';
import { Store } from './core/store.js';
import type { OutboxItem } from './core/outbox.js';
import type { Toolset } from './mcp/tool.js';
import { ConfigError, InputError } from './core/errors.js';
import { ReadOnlyOpenError, SchemaTooNewError } from './core/db.js';
import { retryPosts, syncPlan } from './council/service.js';
import { Session, type ServiceContext } from './core/context.js';
import { StdioTransport } from './mcp/stdio.js';
import { integrityProblem, probePort, startupFault, type FaultScene } from './core/faults.js';
import { exportState } from './transfer/export.js';
import { operationLine } from './core/oplog.js';
import { iso } from './core/time.js';
import { ClaimFileSchema } from '../schemas/sessions.js';
import { formatIssues } from '../schemas/common.js';
import { classifyCommand } from './cli/classify.js';
import { INTENTS } from './changes/rules.js';
import { REPORT_OPTIONS, REPORT_USAGE, runReport } from './report/cli.js';
import { EXIT_CODES, TWINS, sessionCommand, twinCommand } from './cli/twins.js';
import { givenKey, keySession } from './cli/session.js';
import type { CliAt } from './cli/call.js';
import { WORKTREES_OPTIONS, WORKTREES_USAGE, worktreesCommand } from './cli/worktrees.js';

const TOOLSETS: readonly Toolset[] = ['phases', 'sessions', 'council', 'changes', 'dod'];

/** The process's environment, read here once: every service gets it as ctx.env. */
const ENV = process.env;

const COMMON = {
  db: { type: 'string' },
  cwd: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

interface Command {
  summary: string;
  usage: string;
  options: ParseArgsConfig['options'];
  /** Fixed words the first argument takes, for shell completion. */
  words?: readonly string[];
  run(values: Record<string, unknown>, positionals: string[]): Promise<number> | number;
}

/** run_council's twin, `council --file` (the council command also lists, prints and retries). */
const COUNCIL_TWIN = twinCommand('council', TWINS.council as (typeof TWINS)[string], withAt);

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

Prints every MEGA with its phases: done (✔), claimed (▶, owner and lease), ready (○), blocked (·).
Over 100 phases in all, a line per MEGA (counts, points, owners); --mega KEY prints its phases.`,
    options: { mega: { type: 'string' }, json: { type: 'boolean' } },
    run: (v) =>
      withStore(v, async (store) => {
        const megas = await store.phases.boardPages(v.mega as string | undefined);
        if (v.json) process.stdout.write(`${JSON.stringify({ megas }, null, 2)}\n`);
        else if (!megas.length)
          process.stdout.write(
            `No MEGA planned yet: plan one with ${COMMANDS.plan ? '`factory-mcp plan FILE`' : "an agent's plan_mega tool"} (or \`factory-mcp sync-plan KEY\` from Linear), or import a claim file with \`factory-mcp import FILE\`.\n`,
          );
        else {
          const lines = renderBoardLines(megas, { color: process.stdout.isTTY === true });
          if (megas.some((m) => !m.phases)) lines.push(`phases of one MEGA: factory-mcp status --mega ${megas[0]?.key}`);
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        return 0;
      }),
  },
  http: {
    summary: 'serve MCP over Streamable HTTP at /mcp, with the live dashboard at /',
    usage: `factory-mcp http [--host 127.0.0.1] [--port 7420] [--read-only] [--db FILE]

Serves the same tools to many agents over Streamable HTTP at /mcp (each MCP session gets its own
instance id), the dashboard at /, JSON at /api/board, /api/sessions, /api/operations,
/api/metrics, and live updates at /events. Binds loopback by default; any other --host needs
FACTORY_HTTP_TOKEN, and every request must then send "Authorization: Bearer <token>"
(the dashboard: sign in at /login with the token). Acknowledging an Ask change or a rejected council
on the dashboard needs FACTORY_ACK_TOKEN when set (a human-only token), else FACTORY_HTTP_TOKEN.
Stops gracefully on SIGINT/SIGTERM.
  --allow-host NAME   also accept this Host header (e.g. a reverse proxy name)`,
    options: { host: { type: 'string' }, port: { type: 'string' }, 'read-only': { type: 'boolean' }, 'allow-host': { type: 'string', multiple: true } },
    run: runHttp,
  },
  init: {
    summary: 'write factory.config.json and the Claude Code / Cursor client configs',
    usage: `factory-mcp init [--force] [--cwd DIR]

Writes, at the repository root:
  factory.config.json   the defaults, with a $schema pointer for editor completion
                        (dod.github "off" when no remote points at GitHub)
  .mcp.json             Claude Code project scope: mcpServers.factory
  .cursor/mcp.json      Cursor: mcpServers.factory
The entry runs \`npx --no factory-mcp\` when factory-mcp is installed in the repository's
node_modules or globally (portable: commit the files), else this checkout's dist/src/cli.js by
absolute path (said in the output). Entries of other servers are kept; an existing config is kept
and a "factory" entry that differs is reported ("differs") and replaced only with --force.
Warns when DIR is not in a git repository. Prints Claude Code's approval step for project
servers and the \`claude mcp add\` line for user scope.
  --hooks   also install the git pre-commit hook \`factory-mcp guard\` (file reservations) in the
            repository's hooks directory (core.hooksPath respected; worktrees share it); an
            existing pre-commit hook is kept as pre-commit.factory-chained and runs first.`,
    options: { force: { type: 'boolean' }, hooks: { type: 'boolean' } },
    run: async (v) => {
      const code = (await import('./cli/init.js')).runInit(v);
      if (v.hooks !== true || code !== 0) return code;
      const { installHooks, renderHooks } = await import('./pipeline/guard.js');
      const cwd = (v.cwd as string | undefined) ?? process.cwd();
      process.stdout.write(renderHooks(installHooks(cwd, findRepoRoot(cwd), ENV), process.cwd()));
      return 0;
    },
  },
  guard: {
    summary: 'git pre-commit hook: refuse a commit touching files another live claim reserved',
    usage: `factory-mcp guard [--db FILE] [--cwd DIR]

Run by git before each commit (install it with \`factory-mcp init --hooks\`). Reads the staged
paths (git diff --cached) and refuses the commit (exit 1) when another live claim reserved any of
them, naming the files, the owner and the phase. Your own reservations count as yours only in the
claim's worktree or with your CLI session key in FACTORY_SESSION. Reservations of owners gone past
their lease do not block. Exit 0 when the repository has no factory database; 2 when one cannot be
read. Looks at --db, FACTORY_DB and the repository's .factory/factory.db, each that exists.
\`git commit --no-verify\` skips any hook: the merge gate is what holds (docs/pipeline.md).`,
    options: {},
    run: async (v) => {
      const { runGuard } = await import('./pipeline/guard.js');
      const r = await runGuard({ cwd: (v.cwd as string | undefined) ?? process.cwd(), env: ENV, db: v.db as string | undefined, now: Date.now() });
      process.stderr.write(r.text);
      return r.exit;
    },
  },
  council: {
    summary: 'run the council on a proposal (--file), list councils, print one report, or retry Linear posts',
    usage: `factory-mcp council [--id N] [--retry] [--json] [--db FILE]
${COUNCIL_TWIN.usage}

Without options lists the recent councils (id, verdict, average, subject, Linear state).
  --id N     print council N's Markdown report
  --retry    post every report waiting in the outbox to Linear now (needs LINEAR_API_KEY)`,
    options: { id: { type: 'string' }, retry: { type: 'boolean' }, ...COUNCIL_TWIN.options },
    run: (v, pos) =>
      v.file !== undefined
        ? COUNCIL_TWIN.run(v, pos)
        : withContext(v, async (deps) => {
            const out = (x: unknown, text: string) => process.stdout.write(v.json ? `${JSON.stringify(x, null, 2)}\n` : `${text}\n`);
            if (v.retry) {
              const r = await retryPosts(deps, { force: true });
              out(r, [r.message, ...r.posted.map((p) => `  #${p.council} ${p.url}`), ...r.failed.map((f) => `  #${f.council} ${f.message}`)].join('\n'));
              return r.failed.length ? 1 : 0;
            }
            if (v.id !== undefined) {
              const c = await deps.store.councils.get(Number(v.id));
              if (!c) throw new InputError('--id', `unknown council ${JSON.stringify(v.id)}`);
              out(c, c.report_markdown.trimEnd());
              return 0;
            }
            const list = await deps.store.councils.recent(20);
            const line = (c: (typeof list)[number]) =>
              `#${c.id}  ${c.verdict.toUpperCase().padEnd(6)}  ${c.average.toFixed(2)}  ${c.mega ? `${c.mega}${c.phase !== null ? `/${c.phase}` : ''}  ` : ''}${c.subject.title}` +
              (c.comment_url ? `  posted` : c.post_pending ? `  waiting for Linear (${c.ticket})` : '');
            out(list, list.length ? list.map(line).join('\n') : 'No council yet. Run one with the run_council tool.');
            return 0;
          }),
  },
  ack: {
    summary: 'a human acknowledges an Ask change or a rejected council (needs the enrolled FACTORY_ACK_TOKEN)',
    usage: `factory-mcp ack council|change ID [--note TEXT] [--db FILE]
factory-mcp ack --enroll [--db FILE]

The human gate from a terminal: acknowledges Ask change ID (complete_phase then goes through)
or overrides rejected council ID (its phase becomes claimable). Needs FACTORY_ACK_TOKEN in this
shell's environment, and it must be the token enrolled in the database: --enroll (or the first
\`factory-mcp http\` started with FACTORY_ACK_TOKEN) keeps a salted hash of it, and the first
enrollment wins, so enroll before any agent runs. Keep the token out of the agents' environment.
Logged. It holds against an agent that cannot write the database directly (docs/security.md).`,
    options: { note: { type: 'string' }, enroll: { type: 'boolean' } },
    run: async (v, pos) => {
      const { ACK_KINDS, ackTarget } = await import('./http/api.js');
      const token = ENV.FACTORY_ACK_TOKEN;
      if (!token) throw new InputError('FACTORY_ACK_TOKEN', 'not set: acknowledging is for a human, whose shell holds the ack token (agents never get it)');
      if (v.enroll === true) {
        return withStore(v, async (store) => {
          const r = await store.acks.enroll(token, Date.now());
          if (r === 'mismatch')
            throw new InputError(
              'FACTORY_ACK_TOKEN',
              `another ack token was enrolled in this database at ${iso((await store.acks.enrolledAt()) ?? 0)}; if that was not you, an agent enrolled first (docs/security.md)`,
            );
          process.stdout.write(r === 'enrolled' ? 'ack token enrolled: acknowledgements now need it\n' : 'this ack token is enrolled already\n');
          return 0;
        });
      }
      const [kind, ref] = pos;
      if (!kind || !ACK_KINDS.includes(kind as 'council')) throw new InputError('KIND', `expected one of ${ACK_KINDS.join(', ')}`);
      if (!ref || !/^[1-9]\d{0,15}$/.test(ref)) throw new InputError('ID', 'expected the numeric id of the council or change');
      return withContext(v, async (ctx) => {
        const { store } = ctx;
        const check = await store.acks.check(token);
        if (check === 'not_enrolled')
          throw new InputError('FACTORY_ACK_TOKEN', 'no ack token is enrolled in this database: run `factory-mcp ack --enroll` (or start `factory-mcp http`) once with it, before any agent does');
        if (check === 'mismatch') throw new InputError('FACTORY_ACK_TOKEN', `is not the ack token enrolled in this database (at ${iso((await store.acks.enrolledAt()) ?? 0)}); nothing acknowledged`);
        const what = await ackTarget(store, kind as 'council', ref);
        if (!what) throw new InputError('ID', `no ${kind} ${ref} awaiting a human`);
        const r = await store.acks.ack(kind as 'council', ref, (v.note as string | undefined) ?? null, Date.now(), what);
        if (!r.already) await (await import('./governance/statuses.js')).publishAck(ctx, kind as 'council', ref); // the gate opens on GitHub too
        process.stdout.write(`${r.already ? 'already acknowledged' : 'acknowledged'}: ${what}\n`);
        return 0;
      });
    },
  },
  'sync-plan': {
    summary: 'read a MEGA and its sub-issues from Linear into the plan; print the MEGA as a checklist',
    usage: `factory-mcp sync-plan KEY [--json] [--db FILE]

Reads the Linear issue KEY (e.g. CAB-1290) and its sub-issues: each sub-issue becomes a phase
(estimate → points, completed/canceled → done, "blocks" relations → deps). Needs LINEAR_API_KEY
(and FACTORY_LINEAR_API_URL for a non-default endpoint). Also retries council reports waiting for Linear.`,
    options: { json: { type: 'boolean' } },
    run: (v, pos) =>
      withContext(v, async (deps) => {
        const key = pos[0];
        if (!key) throw new InputError('KEY', 'give the Linear MEGA issue, e.g. factory-mcp sync-plan CAB-1290');
        const r = await syncPlan(deps, key);
        process.stdout.write(v.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.message}\n${r.plan_markdown ? `\n${r.plan_markdown}` : ''}`);
        return r.synced ? 0 : 1;
      }),
  },
  log: {
    summary: 'print the operations log, or verify its hash chain (--verify)',
    usage: `factory-mcp log [--limit N] [--json] [--verify] [--db FILE]

Prints the latest N (default 50) entries of the append-only operations log, oldest first.
  --json     one JSON object per entry
  --verify   check every page of the database file (exit 2 if corrupt), then recompute the
             whole hash chain; names the first edited, deleted or inserted entry and exits 1
             if the log was tampered with`,
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
    run: (v) =>
      withStore(v, async (store, { root }) => {
        const dir = path.resolve(root, (v.dir as string | undefined) ?? 'factory-state');
        const files = await exportState(store, dir);
        process.stdout.write(`exported ${files.length} files to ${dir}\n`);
        return 0;
      }),
  },
  dod: {
    summary: 'run the 10-point Definition of Done and print the checklist',
    usage: `factory-mcp dod [--mega KEY --phase ID] [--component NAME] [--only a,b] [--no-cache] [--json]

Runs the ten checks (compiles, tests, no_regressions, lint, format, no_secrets, pr_created,
ci_green, state_updated, session_logged) with the commands of factory.config.json (dod.components)
or the ones detected from the repository, and prints ✔ pass, ✘ fail, – skip, ! error for each.
The phase checks need --mega and --phase. --no-cache runs every check afresh. Exits 0 only when all
ten pass (or are skipped by config), 1 otherwise.`,
    options: { mega: { type: 'string' }, phase: { type: 'string' }, component: { type: 'string' }, only: { type: 'string' }, 'no-cache': { type: 'boolean' }, json: { type: 'boolean' } },
    run: async (v) => {
      return withContext(v, async (ctx) => {
        const { checkDod, renderDod } = await import('./dod/service.js');
        const { CheckDodInput } = await import('../schemas/dod.js');
        const parsed = CheckDodInput.safeParse({
          mega: v.mega,
          phase: typeof v.phase === 'string' && /^\d+$/.test(v.phase) ? Number(v.phase) : v.phase,
          component: v.component,
          only:
            typeof v.only === 'string'
              ? v.only
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean)
              : undefined,
          fresh: v['no-cache'] === true ? true : undefined,
        });
        if (!parsed.success) throw new InputError('--' + String(parsed.error.issues[0]?.path[0] ?? 'args'), formatIssues(parsed.error));
        const r = await checkDod(ctx, parsed.data);
        process.stdout.write(v.json ? `${JSON.stringify(r, null, 2)}\n` : `${renderDod(r).join('\n')}\n`);
        return r.passed ? 0 : 1;
      });
    },
  },
  call: {
    summary: 'call any tool from a terminal, through the same path as MCP (validation, handler, output)',
    usage: `factory-mcp call TOOL [--args JSON | --args-file FILE] [--json] [--db FILE]

Calls the tool TOOL (board, plan_mega, claim_phase, heartbeat, checkpoint, complete_phase,
release_phase, memory, log_operation, session_start, session_end, run_council, sync_plan,
classify_change, check_dod, record_usage) with the JSON arguments of its MCP input schema, e.g.
  factory-mcp call plan_mega --args-file plan.json
  factory-mcp call board --json
  --args JSON        the arguments (default {})
  --args-file FILE   the arguments from a file (- reads stdin)
  --json             print the structured answer instead of its text
With FACTORY_SESSION (or --session KEY) it acts as that CLI session (factory-mcp session start);
else each process is one session: it takes an instance on its first write and leaves like an
MCP client that disconnects (its claims can be adopted with session_start resume).
Exit codes: 0 done, 1 refused (the answer has a reason: claimed:false, stale_token, …) or
the call failed, 2 bad input (the message names the field).`,
    options: { args: { type: 'string' }, 'args-file': { type: 'string' }, json: { type: 'boolean' }, session: { type: 'string' } },
    run: (v, pos) =>
      withAt(v, async (at) => {
        const { runCall } = await import('./cli/call.js');
        const given = givenKey(v, ENV);
        return runCall(v, pos, at, given ? await keySession(at.store, given) : null);
      }),
  },
  statuses: outboxCommand(
    'list or retry the gates (factory/dod, factory/change, factory/council) waiting for GitHub',
    `factory-mcp statuses [--retry] [--json] [--db FILE]

The gates are published as GitHub commit statuses on each phase's pull request when they are
decided; what GitHub did not take waits in the outbox. Without options lists what waits.
  --retry    post everything waiting now (needs GITHUB_TOKEN); exit 1 if some still fail`,
    async () => {
      const { retryStatuses, STATUS_KIND } = await import('./governance/statuses.js');
      return {
        kind: STATUS_KIND,
        empty: 'No commit status waits for GitHub.',
        line: (i) => i.key,
        retry: async (ctx) => {
          const r = await retryStatuses(ctx, { force: true });
          return { result: r, ok: !r.failed.length && !r.pending, text: [r.message, ...r.failed.map((f) => `  ${f.key}: ${f.message}`)].join('\n') };
        },
      };
    },
  ),
  tickets: outboxCommand(
    'list or retry the Linear ticket updates (claim → started, merge → completed) waiting in the outbox',
    `factory-mcp tickets [--retry] [--json] [--db FILE]

A claim moves its phase's Linear tickets to the team's started state, a merge to its completed
state with a comment; what Linear did not take waits in the outbox. Without options lists what waits.
  --retry    deliver everything waiting now (needs LINEAR_API_KEY); exit 1 if some still fail`,
    async () => {
      const { deliverTickets, TICKETS_KIND } = await import('./pipeline/lifecycle.js');
      return {
        kind: TICKETS_KIND,
        empty: 'No ticket update waits for Linear.',
        line: (i) => `${i.key} → ${(i.payload as { target: string }).target}`,
        retry: async (ctx) => {
          const r = await deliverTickets(ctx, { force: true });
          const text = [r.message, ...r.delivered.map((d) => `  ${d.detail}`), ...r.failed.map((f) => `  ${f.ticket}: ${f.message}`)].join('\n');
          return { result: r, ok: !r.failed.length && !r.pending, text };
        },
      };
    },
  ),
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
      return withStore(v, async (store) => {
        store.imports.check(parsed.data); // bad times are named before anything is written
        const session = new Session(store, { transport: 'cli', pid: process.pid, agent: 'factory-mcp import' }, Date.now, Math.random);
        const instance = await session.ensureInstance();
        let summary = 'import failed';
        try {
          const r = await store.imports.importClaimFile(instance, parsed.data, Date.now());
          summary = r.message;
          process.stdout.write(`${r.message}\n`);
          return 0;
        } finally {
          await store.sessionsService.end(instance, { summary }, Date.now());
        }
      });
    },
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
    run: (v) => classifyCommand(v, ENV),
  },
  report: {
    summary: 'the cycle report: points, velocity, issues, PRs, components, regressions per week',
    usage: REPORT_USAGE,
    options: REPORT_OPTIONS,
    run: (v) => withStore(v, (store, at) => runReport(store, at.config, v)),
  },
  worktrees: {
    summary: 'list the worktrees claims made, with what they hold; --prune removes the safe ones',
    usage: WORKTREES_USAGE,
    options: WORKTREES_OPTIONS,
    run: (v) => withContext(v, (ctx) => worktreesCommand(ctx, v)),
  },
  demo: {
    summary: 'four agents from claim to merged PR on a sample repository (--simple: the coordination demo)',
    usage: `factory-mcp demo [--exit] [--keep] | demo --simple [--agents N] [--stdio] [--exit] [--keep]

The pipeline, by default: a sample repository in a temporary folder with a local bare remote, a
local fake GitHub, and factory-mcp http (with its dashboard) configured with phases.worktrees.
Four agents each claim a phase (its own worktree and branch), commit, push, open a pull request,
classify it (Ship/Show/Ask, size tier), run the DoD and merge_phase it through the gates; the
large one waits for a human's approval. docs/pipeline.md describes the flow.

--simple: N (default 4) simulated agents plan a MEGA of twelve phases and claim, chain and
complete them in parallel over HTTP, without git; --stdio gives each agent its own stdio process.

In a terminal the agents work slowly enough to watch and the dashboard stays up until Ctrl+C;
--exit (or a non-terminal stdout) runs fast and exits. Everything temporary is removed at the
end; --keep keeps it (inspect it with status --db FILE).`,
    options: { simple: { type: 'boolean' }, agents: { type: 'string' }, stdio: { type: 'boolean' }, exit: { type: 'boolean' }, keep: { type: 'boolean' } },
    run: async (v) => {
      const { demoMain } = await import('../scripts/demo.js');
      await demoMain({ simple: v.simple === true, agents: v.agents ? Number(v.agents) : undefined, stdio: v.stdio === true, exit: v.exit === true, keep: v.keep === true });
      return 0;
    },
  },
};

/** The tools' terminal twins (src/cli/twins.ts), each through the MCP call path. */
for (const [name, twin] of Object.entries(TWINS)) if (name !== 'council') COMMANDS[name] = twinCommand(name, twin, withAt);
COMMANDS.session = sessionCommand(withAt);

COMMANDS.completion = {
  summary: 'print a bash or zsh completion script for factory-mcp',
  usage: `factory-mcp completion bash|zsh

Prints a completion script made from this CLI's commands and options. Load it in your shell:
  bash   source <(factory-mcp completion bash)      (in ~/.bashrc)
  zsh    source <(factory-mcp completion zsh)       (in ~/.zshrc, after compinit)`,
  options: {},
  words: ['bash', 'zsh'],
  run: async (_v, pos) => {
    const { SHELLS, completionScript } = await import('./cli/completion.js');
    const shell = pos[0] as (typeof SHELLS)[number];
    if (!SHELLS.includes(shell)) throw new InputError('SHELL', `expected one of ${SHELLS.join(', ')}`);
    const list = Object.entries(COMMANDS).map(([name, c]) => ({ name, summary: c.summary, options: Object.keys({ ...COMMON, ...c.options }), words: c.words }));
    process.stdout.write(completionScript(shell, list, ['help', '--help', '--version']));
    return 0;
  },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(11)} ${c.summary}`);
  return `factory-mcp ${SERVER_VERSION} — MCP server that coordinates several coding agents on one repository

Usage: factory-mcp [command] [options]

Commands:
${lines.join('\n')}

Common options:
  --db FILE|URL  the store: a SQLite file or postgres://user@host:port/db (default: $FACTORY_DB,
               else the config's "database", else .factory/factory.db at the git root)
  --cwd DIR    act as if started in DIR
  -h, --help   help for a command: factory-mcp <command> --help
  --version    print the version

The tools' twins (plan, claim, heartbeat, checkpoint, complete, merge, release, memory, board, council
--file, session, call) act as the CLI session of FACTORY_SESSION: eval "$(factory-mcp session start)".
${EXIT_CODES}
classify, dod and log --verify have their own codes (their --help).
`;
}

/** What this run opens, named by the one-line message if it fails (startupFault). */
const scene: FaultScene = {};

async function open(v: Record<string, unknown>): Promise<{ store: Store; root: string; config: ReturnType<typeof loadConfig> }> {
  const root = findRepoRoot((v.cwd as string | undefined) ?? process.cwd());
  const config = loadConfig(root);
  const target = resolveDbPath(root, v.db as string | undefined, ENV, config);
  scene.db = shownTarget(target); // a PostgreSQL password is never printed
  const password = urlPassword(target);
  if (password) holdSecrets({ PGPASSWORD: password }); // and redacted wherever text is logged or stored
  // --read-only: the database is opened read-only (no migration, no write of any kind).
  const store = await Store.open(target, { leaseSeconds: config.lease_seconds, readOnly: v['read-only'] === true, deadAfterHeartbeats: config.sessions.dead_after_heartbeats, env: ENV });
  return { store, root, config };
}

/** This process serves the store: it registers as a server and heartbeats (sessions.heartbeat_seconds) until the store closes. */
function serving(store: Store, transport: 'stdio' | 'http', config: ReturnType<typeof loadConfig>) {
  store.attachServer({ transport, heartbeatMs: Math.round(config.sessions.heartbeat_seconds * 1000) });
  return store;
}

/**
 * Outside a git repository (and with no --db or FACTORY_DB) a stdio server creates no database
 * until a write needs one: a client's health check in ~/Downloads leaves nothing behind. Until
 * then it serves an empty in-memory store; the first writing tool creates the file and says where.
 */
async function openDeferred(v: Record<string, unknown>): Promise<{ store: Store; root: string; config: ReturnType<typeof loadConfig>; materialize?: () => Promise<{ store: Store; notice: string }> }> {
  const root = findRepoRoot((v.cwd as string | undefined) ?? process.cwd());
  const config = loadConfig(root);
  const file = resolveDbPath(root, v.db as string | undefined, ENV, config);
  const explicit = v.db !== undefined || Boolean(ENV.FACTORY_DB) || config.database !== undefined;
  if (v['read-only'] === true || explicit || fs.existsSync(path.join(root, '.git')) || fs.existsSync(file)) return open(v);
  return {
    store: await Store.open(':memory:', { leaseSeconds: config.lease_seconds }),
    root,
    config,
    materialize: async () => ({
      store: serving(await Store.open(file, { leaseSeconds: config.lease_seconds, deadAfterHeartbeats: config.sessions.dead_after_heartbeats }), 'stdio', config),
      notice: `factory-mcp created its database at ${file}: ${root} is not in a git repository (start the server in your repository, or set FACTORY_DB / --db)`,
    }),
  };
}

/** The CLI's store, with the repository root and its config for services that need them. */
async function withStore(v: Record<string, unknown>, fn: (store: Store, at: { root: string; config: Config }) => number | Promise<number>): Promise<number> {
  const { store, root, config } = await open(v);
  try {
    return await fn(store, { root, config });
  } finally {
    await store.close();
  }
}

/** The store and what a tool call needs beside it, for the commands that call tools (src/cli/call.ts). */
async function withAt(v: Record<string, unknown>, fn: (at: CliAt) => Promise<number>): Promise<number> {
  const { store, root, config } = await open(v);
  try {
    return await fn({ store, root, config, env: ENV, logger: stderrLogger() });
  } finally {
    await store.close();
  }
}

/** The one context over the CLI's store, for the services: no MCP session, so what they record carries no instance. */
/** An outbox as a command (`statuses`, `tickets`): lists what waits, or with --retry delivers it now (exit 1 while some still fail). */
function outboxCommand(
  summary: string,
  usage: string,
  load: () => Promise<{ kind: string; empty: string; line: (i: OutboxItem<unknown>) => string; retry: (ctx: ServiceContext) => Promise<{ result: unknown; ok: boolean; text: string }> }>,
): Command {
  return {
    summary,
    usage,
    options: { retry: { type: 'boolean' }, json: { type: 'boolean' } },
    run: (v) =>
      withContext(v, async (ctx) => {
        const o = await load();
        const out = (x: unknown, text: string) => process.stdout.write(v.json ? `${JSON.stringify(x, null, 2)}\n` : `${text}\n`);
        if (v.retry) {
          const r = await o.retry(ctx);
          out(r.result, r.text);
          return r.ok ? 0 : 1;
        }
        const list = await ctx.store.outbox.list(o.kind);
        out(list, list.length ? list.map((i) => `${o.line(i)}  ${i.attempts} attempt(s)${i.last_error ? `  ${i.last_error}` : ''}`).join('\n') : o.empty);
        return 0;
      }),
  };
}

async function withContext(v: Record<string, unknown>, fn: (ctx: ServiceContext) => Promise<number>): Promise<number> {
  const { store, root, config } = await open(v);
  try {
    return await fn({ store, config, root, clock: Date.now, env: ENV, logger: stderrLogger() });
  } finally {
    await store.close();
  }
}

async function runLog(store: Store, v: Record<string, unknown>): Promise<number> {
  if (v.verify) {
    const t0 = performance.now();
    // A damaged page elsewhere in the file would not show in the chain: SQLite checks every page first.
    const damage = store.sql.dialect === 'sqlite' ? integrityProblem(store.db) : null;
    if (damage) {
      if (v.json) process.stdout.write(`${JSON.stringify({ ok: false, corrupt: damage })}\n`);
      else process.stderr.write(`factory-mcp log: CORRUPT: ${store.sql.where}: ${damage}; restore it from a backup\n`);
      return 2;
    }
    const r = await store.operations.verify();
    const ms = performance.now() - t0;
    // PostgreSQL keeps (and checksums) its own pages: only the chain is checked there.
    const pages = store.sql.dialect === 'sqlite' ? 'checked' : 'not checked (PostgreSQL)';
    if (v.json) process.stdout.write(`${JSON.stringify({ ...r, pages, ms: Math.round(ms) })}\n`);
    else if (r.ok) process.stdout.write(`ok: ${r.entries} entries, hash chain intact${store.sql.dialect === 'sqlite' ? '' : '; pages not checked (PostgreSQL)'} (${Math.round(ms)} ms)\n`);
    else process.stdout.write(`TAMPERED: entry #${r.problem?.seq} ${r.problem?.problem}: ${r.problem?.detail}\n`);
    return r.ok ? 0 : 1;
  }
  const limit = v.limit === undefined ? 50 : Number(v.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit', 'a whole number ≥ 1');
  const ops = await store.operations.recent(limit);
  const lines = v.json ? ops.map((o) => JSON.stringify(o)) : ops.map(operationLine);
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function runStdio(v: Record<string, unknown>): Promise<number> {
  const logger = stderrLogger();
  let toolsets: Toolset[] | undefined;
  if (typeof v.toolsets === 'string') {
    toolsets = v.toolsets
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean) as Toolset[];
    const bad = toolsets.filter((t) => !TOOLSETS.includes(t));
    if (bad.length) throw new InputError('--toolsets', `unknown toolset ${bad.join(', ')} (known: ${TOOLSETS.join(', ')})`);
  }
  const { store, root, config, materialize } = await openDeferred(v);
  // Registered with its first session: a health check that only reads leaves no server row either.
  if (v['read-only'] !== true && !materialize) serving(store, 'stdio', config);
  const fs_ = createServer({ store, config, root, logger, env: ENV, session: { transport: 'stdio', pid: process.pid }, readOnly: v['read-only'] === true, toolsets, materialize });
  const transport = new StdioTransport();
  let closed = false;
  const shutdown = async (why: string) => {
    if (closed) return;
    closed = true;
    try {
      await fs_.cleanup();
    } finally {
      await fs_.ctx.store.close().catch(() => undefined);
    }
    logger.info(`stopped (${why})`);
    process.exit(0);
  };
  transport.onclose = () => void shutdown('client disconnected');
  process.stdin.on('end', () => void shutdown('stdin closed'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await fs_.server.connect(transport);
  logger.info(`serving over stdio (db ${materialize ? 'none yet: created by the first write' : store.sql.where})`);
  return new Promise<number>(() => {}); // runs until the client goes away
}

async function runHttp(v: Record<string, unknown>): Promise<number> {
  const logger = stderrLogger();
  const port = v.port === undefined ? 7420 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError('--port', `not a port number: ${String(v.port)}`);
  Object.assign(scene, { host: v.host as string | undefined, port });
  await probePort((v.host as string | undefined) ?? '127.0.0.1', port); // a port in use fails before the database is touched
  const { store, root, config } = await open(v);
  const { startHttp, HttpConfigError } = await import('./http/server.js');
  let http;
  try {
    http = await startHttp({
      store,
      config,
      root,
      logger,
      host: v.host as string | undefined,
      port,
      token: ENV.FACTORY_HTTP_TOKEN,
      ackToken: ENV.FACTORY_ACK_TOKEN,
      env: ENV,
      readOnly: v['read-only'] === true,
      allowedHosts: v['allow-host'] as string[] | undefined,
    });
  } catch (e) {
    await store.close();
    if (e instanceof HttpConfigError) throw new InputError('--host', e.message);
    throw e;
  }
  if (v['read-only'] !== true) await serving(store, 'http', config).server?.ensure(); // many sessions: registered once listening
  logger.info(`serving MCP at ${http.url}/mcp, dashboard at ${http.url}/ (db ${store.sql.where})`);
  process.stdout.write(`factory-mcp http: MCP at ${http.url}/mcp · dashboard at ${http.url}/\n`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${sig}: finishing in-flight calls`);
    await http.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return new Promise<number>(() => {});
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
    // DatabaseOpenError (src/core/pg.ts, loaded only for PostgreSQL): an unreachable server, a bad host or login, one line naming the host.
    if (e instanceof ConfigError || e instanceof InputError || e instanceof SchemaTooNewError || e instanceof ReadOnlyOpenError || (e as Error | null)?.name === 'DatabaseOpenError') {
      process.stderr.write(`factory-mcp ${name}: ${(e as Error).message}\n`);
      return 2;
    }
    const fault = startupFault(e, scene);
    if (fault) {
      process.stderr.write(`factory-mcp ${name}: ${fault}\n`);
      return 2;
    }
    throw e;
  }
}

/**
 * Exits once stdout and stderr have handed everything to the OS. Into a pipe, what a command
 * wrote beyond the pipe's buffer is still queued when it returns, and process.exit() at once
 * would drop it (issue 16: `status --json | wc -c` gave 65,536 bytes). A stream's write
 * callback runs after every earlier write went out.
 */
function exitAfterOutput(code: number): void {
  process.exitCode = code;
  let open = 2;
  const done = () => {
    if (--open === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength === 0 || stream.destroyed) done();
    else stream.write('', done);
  }
}

const invokedDirectly = process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => exitAfterOutput(code),
    (e) => {
      process.stderr.write(`factory-mcp: ${(e as Error).stack ?? String(e)}\n`);
      exitAfterOutput(1);
    },
  );
}
