/**
 * The pipeline demo (`npm run demo`): from claim to merged pull request on a real repository.
 * A sample repository in a temporary folder with a local bare repository as its `origin`, the fake
 * GitHub (test/fakes/github-remote.ts) started in this process and backed by that bare repository,
 * and a real `factory-mcp http` server with `phases.worktrees: true`, its GitHub pointed at the fake
 * (the token only in the server's environment). Four agents, each: claim_phase (its own worktree and
 * branch), a change written there (sizes vary so the PR tiers differ; one is too large and waits for
 * a human), commit, push, a pull request, classify_change on the branch's range, check_dod,
 * merge_phase (the fake squash-merges into the remote's main, so later worktrees start from it), then
 * the next phase. One line per event, then the board, the pull requests with their tiers and gates,
 * and what to do next. Everything temporary is removed at the end unless `--keep`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Octokit } from 'octokit';
import { FakeGitHubRemote } from '../test/fakes/github-remote.js';
import { renderBoardLines } from '../src/phases/render.js';
import type { BoardMega, ClaimResult as Claim } from '../src/phases/service.js';
import type { MergePhaseResult as Merge } from '../schemas/merge.js';
import { call, CLI, connectHttpAgent, nextSteps, startHttpServer } from './demo.js';

const run = promisify(execFile);

/**
 * The plan: seven phases; each adds a file of `lines` lines, so the pull requests land in every size
 * tier (s < 50 ≤ m < 150 ≤ l ≤ 300 < xl): data tables (no rule covers them: SHOW), docs (SHIP), and
 * one table too large for one pull request (ASK, too_large: it waits for a human).
 */
export const PIPELINE_PLAN = {
  key: 'DEMO-2',
  title: 'Greeter service',
  phases: [
    { id: 1, name: 'Greeting core', points: 3, deps: [], file: 'data/greetings.csv', lines: 24 },
    { id: 2, name: 'Locales', points: 3, deps: [], file: 'data/locales.csv', lines: 110 },
    { id: 3, name: 'Formatting guide', points: 2, deps: [], file: 'docs/formatting.md', lines: 36 },
    { id: 4, name: 'Command line', points: 5, deps: [], file: 'data/commands.csv', lines: 190 },
    { id: 5, name: 'Translations catalogue', points: 5, deps: [2], file: 'data/translations.csv', lines: 340 },
    { id: 6, name: 'HTTP routes', points: 3, deps: [1, 3, 4], file: 'data/routes.csv', lines: 80 },
    { id: 7, name: 'Docs', points: 1, deps: [5, 6], file: 'docs/usage.md', lines: 12 },
  ],
};

const AGENTS = ['claude-code', 'cursor', 'codex', 'aider'];
const OWNER = 'demo';
const REPO = 'greeter';
/** The human who reviews Ask pull requests (github.reviewers), and approves the large one. */
const REVIEWER = 'alice';

/** A tiny repository whose build, tests, lint and format check are one node script, so the Definition of Done runs in a second. */
const TOOLS_JS = `'use strict';
// build, test, lint and format for the sample repository: node tools.js <step>
const fs = require('fs');
const vm = require('vm');
const step = process.argv[2];
const tables = fs.readdirSync('data').filter((f) => f.endsWith('.csv'));
if (step === 'build') new vm.Script(fs.readFileSync('src/index.js', 'utf8'));
if (step === 'test') {
  const greet = require('./src/index.js');
  if (greet('en', 'Ada') !== 'Hello, Ada!') throw new Error('greet is broken');
}
for (const f of tables) {
  const text = fs.readFileSync('data/' + f, 'utf8');
  if (step === 'lint' && text.split('\\n').some((row) => row && row.split(',').length !== 2)) throw new Error(f + ': a row without two columns');
  if (step === 'format' && (/[ \\t]+$/m.test(text) || !text.endsWith('\\n'))) throw new Error(f + ': trailing space or no final newline');
}
console.log(step + ': ' + tables.length + ' tables ok');
`;

const INDEX_JS = `'use strict';
const fs = require('fs');
const path = require('path');
const rows = fs.readFileSync(path.join(__dirname, '..', 'data', 'hello.csv'), 'utf8').trim().split('\\n');
const hello = new Map(rows.map((r) => r.split(',')));
module.exports = (lang, name) => (hello.get(lang) || 'Hello') + ', ' + name + '!';
`;

/** The change a phase makes: a data table or a page of docs, `lines` lines long. */
function phaseFile(spec: { name: string; file: string; lines: number }, agent: string): string {
  if (spec.file.endsWith('.md')) return [`# ${spec.name}`, '', ...Array.from({ length: spec.lines - 3 }, (_, i) => `${i + 1}. ${spec.name.toLowerCase()}, step ${i + 1} (${agent})`), ''].join('\n');
  return [...Array.from({ length: spec.lines }, (_, i) => `${slug(spec.name)}-${i + 1},${spec.name.toLowerCase()} ${i + 1}`), ''].join('\n');
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** git for the sample repository and the agents: no user or system config, a fixed identity. */
function gitEnv(who: string): NodeJS.ProcessEnv {
  const email = `${who}@agents.example`;
  return { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: who, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: who, GIT_COMMITTER_EMAIL: email };
}
const gitSync = (cwd: string, ...args: string[]) => execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', env: gitEnv('demo'), stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const git = async (cwd: string, who: string, ...args: string[]) => (await run('git', ['-C', cwd, ...args], { env: gitEnv(who) })).stdout.trim();

/** The sample repository, pushed to a bare `origin` whose HEAD is main, with the config the demo needs. */
function makeSampleRepository(dir: string): { repo: string; remote: string } {
  const remote = path.join(dir, 'remote.git');
  const repo = path.join(dir, 'greeter');
  gitSync(dir, 'init', '-q', '--bare', '-b', 'main', remote);
  gitSync(dir, 'init', '-q', '-b', 'main', repo);
  const step = (s: string) => ['node', 'tools.js', s];
  const config = {
    phases: { worktrees: true },
    github: { owner: OWNER, repo: REPO, reviewers: [REVIEWER] },
    dod: { components: [{ name: 'greeter', commands: { compiles: step('build'), tests: step('test'), lint: step('lint'), format: step('format') } }], required_checks: ['ci'] },
  };
  const files: Record<string, string> = {
    'README.md': '# greeter\n\nThe sample repository of the factory-mcp demo.\n',
    'tools.js': TOOLS_JS,
    'src/index.js': INDEX_JS,
    'data/hello.csv': 'en,Hello\nfr,Bonjour\nde,Hallo\n',
    'factory.config.json': `${JSON.stringify(config, null, 2)}\n`,
  };
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    fs.writeFileSync(path.join(repo, f), text);
  }
  gitSync(repo, 'add', '-A');
  gitSync(repo, 'commit', '-q', '-m', 'greeter: the start');
  gitSync(repo, 'remote', 'add', 'origin', remote);
  gitSync(repo, 'push', '-q', '-u', 'origin', 'main');
  gitSync(repo, 'remote', 'set-head', 'origin', 'main');
  return { repo, remote };
}

/** One merged phase, for the summary and the test. */
export interface PipelineRow {
  phase: number;
  name: string;
  agent: string;
  pr: number;
  lines: number;
  tier: string;
  level: string;
  dod: string;
  merge_commit: string;
  gates: string;
  waited: boolean;
}

export interface PipelineOptions {
  /** Keep the dashboard server running after the agents finish (until Ctrl+C). */
  keepOpen?: boolean;
  /** Keep the temporary folder (repository, remote, database, the fake's request log); removed otherwise. */
  keep?: boolean;
  /** A pause per point of "work", so a person can watch the dashboard. */
  msPerPoint?: number;
  out?: (s: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One ref-writing git command at a time in the shared repository (fetch, push): git's ref locks are not for racing. */
function serial() {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const next = last.then(fn, fn);
    last = next.catch(() => undefined);
    return next;
  };
}

export async function runPipelineDemo(opts: PipelineOptions = {}): Promise<{ rows: PipelineRow[]; board: BoardMega[]; ms: number; dir: string }> {
  const out = opts.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-demo-'));
  const db = path.join(dir, 'factory.db');
  const { repo, remote } = makeSampleRepository(dir);
  const gh = new FakeGitHubRemote(remote);
  gh.acceptedToken = `demo-${randomBytes(16).toString('hex')}`;
  gh.tokenUser = 'factory-agents';
  await gh.start();
  // The agents' own GitHub client (they open the pull requests). Octokit paces writes for GitHub's
  // secondary rate limits (a PR some seconds apart); the local fake has none, so that is off.
  const octo = new Octokit({ auth: gh.acceptedToken, baseUrl: gh.url, throttle: { enabled: false }, request: { retries: 0 } });
  const server = await startHttpServer(db, { cwd: repo, env: { GITHUB_TOKEN: gh.acceptedToken, FACTORY_GITHUB_API_URL: gh.url } });
  out(`factory-mcp demo: from claim to merged pull request — dashboard: ${server.url}/  (open it to watch)`);
  out(`sample repository ${repo}`);
  out(`its origin        ${remote} (bare), GitHub: a local fake at ${gh.url} that merges into it`);
  out(`database          ${db}\n`);
  let clients: Client[] = [];
  const locked = serial();
  const rows: PipelineRow[] = [];
  try {
    clients = await Promise.all(AGENTS.map((a) => connectHttpAgent(server.url, a)));
    await Promise.all(clients.map((c, i) => call(c, 'session_start', { agent: AGENTS[i] })));
    const plan = { ...PIPELINE_PLAN, phases: PIPELINE_PLAN.phases.map(({ lines: _l, file: _f, ...p }) => p) };
    const planned = await call<{ ready: unknown[] }>(clients[0] as Client, 'plan_mega', plan);
    out(`${AGENTS[0]} planned ${plan.key} "${plan.title}": ${plan.phases.length} phases, ready now: ${planned.ready.join(', ')}`);
    out(`${AGENTS.length} agents each claim a ready phase, work in its worktree, open a PR and merge it through the gates.\n`);
    const t0 = Date.now();
    const say = (agent: string, what: string, id: number | string, text: string) =>
      out(`  ${`+${((Date.now() - t0) / 1000).toFixed(2)}s`.padStart(7)}  ${agent.padEnd(12)} ${what.padEnd(12)} ${String(id).padStart(2)}  ${text}`);

    let stop: unknown = null;
    let reserved: () => void = () => {};
    const firstReservation = new Promise<void>((r) => (reserved = r));
    /** The last agent first asks for all of data/ with its claim: refused while another claim holds a file there. */
    const greedy = async (client: Client, name: string) => {
      await firstReservation;
      if (stop !== null) return;
      const c = await call<Claim & { reserved_by?: { agent: string | null; owner: string; phase: number | string; overlaps: { theirs: string }[] }[] }>(client, 'claim_phase', {
        mega: plan.key,
        files: ['data/**'],
      });
      if (c.claimed) {
        await call(client, 'release_phase', { mega: plan.key, phase: c.phase?.id, token: c.token });
        return;
      }
      const by = (c.reserved_by ?? []).map((b) => `${b.overlaps.map((o) => o.theirs).join(', ')} (${b.agent ?? b.owner}, phase ${b.phase})`);
      say(name, '⛔ refused', '-', `claim_phase {files: ["data/**"]}: ${c.reason}, reserved by ${by.join('; ')}`);
    };
    const agent = async (client: Client, name: string, last: boolean) => {
      if (last) await greedy(client, name);
      while (stop === null) {
        let claim = await call<Claim>(client, 'claim_phase', { mega: plan.key });
        // The claim holds when git fails to make its worktree (worktree_error); the owner's re-claim retries git.
        for (let i = 0; claim.claimed && claim.worktree_error && i < 3; i++) {
          say(name, '↻ retries', String(claim.phase?.id), `its worktree: ${claim.worktree_error.split('\n')[0]}`);
          await sleep(100 * (i + 1));
          claim = await call<Claim>(client, 'claim_phase', { mega: plan.key, phase: claim.phase?.id });
        }
        if (!claim.claimed) {
          if (claim.remaining === 0) return;
          await sleep(100);
          continue;
        }
        const id = Number(claim.phase?.id);
        const spec = PIPELINE_PLAN.phases.find((p) => p.id === id)!;
        if (!claim.worktree || !claim.branch) throw new Error(`${name}: the claim of ${id} has no worktree: ${claim.worktree_error ?? claim.message}`);
        const wt = claim.worktree;
        const at = { mega: plan.key, phase: id, token: claim.token };
        say(name, '▶ claimed', id, `${spec.name} → worktree ${path.relative(repo, wt)}, branch ${claim.branch}`);
        // Reserve the file it will write: another agent's claim or checkpoint on it is refused (files_reserved).
        const checkpoint = () =>
          call<{ saved: boolean; reason?: string; message: string }>(client, 'checkpoint', {
            ...at,
            files: [spec.file],
            progress: { done: ['read the plan'], next: [`write ${spec.file}`], percent: 10 },
          });
        let cp = await checkpoint();
        for (let i = 0; !cp.saved && cp.reason === 'files_reserved' && i < 50; i++) cp = await sleep(100).then(checkpoint); // wait for that claim to end
        if (!cp.saved) throw new Error(`${name}: checkpoint of ${id}: ${cp.message}`);
        if (spec.file.startsWith('data/')) reserved();
        await call(client, 'memory', { op: 'append', section: 'status', text: `${name} works on ${plan.key}/${id} ${spec.name} in ${claim.branch}` });
        await sleep((spec.points ?? 1) * (opts.msPerPoint ?? 0));
        fs.mkdirSync(path.join(wt, path.dirname(spec.file)), { recursive: true });
        fs.writeFileSync(path.join(wt, spec.file), phaseFile(spec, name));
        await git(wt, name, 'add', '-A');
        await git(wt, name, 'commit', '-q', '-m', `${spec.name} (${plan.key}/${id})`);
        const head = await git(wt, name, 'rev-parse', 'HEAD');
        await locked(() => git(wt, name, 'push', '-q', '-u', 'origin', 'HEAD'));
        const pr = (await octo.rest.pulls.create({ owner: OWNER, repo: REPO, title: `${spec.name} (${plan.key}/${id})`, head: claim.branch, base: 'main' })).data.number;
        await octo.rest.repos.createCommitStatus({ owner: OWNER, repo: REPO, sha: head, state: 'success', context: 'ci', description: 'the sample CI passed' });
        say(name, '↑ pushed', id, `${spec.file} (reserved) committed as ${head.slice(0, 7)}, pushed; PR #${pr} opened, CI green`);
        const c = await call<{ level: string; size: { lines: number; tier: string }; reasons: { rule: string; level: string }[] }>(client, 'classify_change', { ...at, cwd: wt, head });
        const asks = c.reasons.filter((r) => r.level === 'ask').map((r) => r.rule);
        say(name, '◆ classified', id, `${c.level.toUpperCase()}, tier ${c.size.tier} (${c.size.lines} lines)${asks.length ? ` — ${asks.join(', ')}` : ''}`);
        const dod = await call<{ passed: boolean; score: string; message: string }>(client, 'check_dod', { mega: plan.key, phase: id, cwd: wt });
        if (!dod.passed) throw new Error(`${name}: ${dod.message}`);
        say(name, '✔ DoD', id, dod.score);
        let m = await call<Merge>(client, 'merge_phase', at);
        let waited = false;
        if (!m.merged && m.reason === 'awaiting_human') {
          waited = true;
          const open = gh.pulls.get(`${OWNER}/${REPO}`)?.find((x) => x.number === pr);
          const shown = `${open?.labels?.length ? `labelled "${open.labels.join('", "')}"` : 'no label'}, ${open?.requested_reviewers?.length ? `requested ${open.requested_reviewers.join(', ')}` : 'no reviewer requested'}`;
          say(name, '⏸ not merged', id, `${m.reason}: ASK needs a human; merge_phase put PR #${pr} in the open: ${shown}`);
          say(REVIEWER, '✓ approves', id, `${REVIEWER} (a human) reviews PR #${pr} on GitHub and approves it`);
          gh.reviews.set(`${OWNER}/${REPO}#${pr}`, [{ user: REVIEWER, state: 'APPROVED' }]);
          m = await call<Merge>(client, 'merge_phase', at);
        }
        if (!m.merged) throw new Error(`${name}: merge_phase of ${id}: ${m.message}`);
        const sha = m.merge_commit ?? '';
        const gates = m.gates.map((g) => `${g.gate} ${g.state === 'pass' ? '✔' : g.state}`).join(', ');
        say(name, '⇲ merged', id, `PR #${m.pr} squash-merged into main as ${sha.slice(0, 7)} (${(m.level ?? '').toUpperCase()}, tier ${m.size?.tier ?? '?'}) — gates: ${gates}`);
        if (m.completed !== true) throw new Error(`${name}: ${id} merged but not completed: ${m.message}`);
        say(name, '✔ completed', id, `${spec.name} (${spec.points} pts)`);
        rows.push({
          phase: id,
          name: spec.name,
          agent: name,
          pr,
          lines: c.size.lines,
          tier: c.size.tier,
          level: c.level,
          dod: dod.score,
          merge_commit: sha,
          gates: m.gates.map((g) => `${g.gate}:${g.state}`).join(' '),
          waited,
        });
        // The next worktree starts from origin/HEAD: fetch what the merge put on the remote's main.
        // A fetch meeting a worktree that a claim is making fails (git checks every HEAD): once more then.
        await locked(() => git(repo, name, 'fetch', '-q', 'origin').catch(() => sleep(200).then(() => git(repo, name, 'fetch', '-q', 'origin'))));
      }
    };
    // All settle before anything is cleaned up: an agent that failed stops the others at their next phase.
    const settled = await Promise.allSettled(
      clients.map((c, i) =>
        agent(c, AGENTS[i] as string, i === AGENTS.length - 1).catch((e: unknown) => {
          stop = e;
          reserved(); // the last agent may be waiting for a reservation that will not come
          throw e;
        }),
      ),
    );
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const ms = Date.now() - t0;

    const pruned = await run(process.execPath, [CLI, 'worktrees', '--prune', '--db', db], { cwd: repo, env: { ...process.env, FACTORY_LOG: 'silent' } });
    const left =
      gitSync(repo, 'worktree', 'list', '--porcelain')
        .split('\n')
        .filter((l) => l.startsWith('worktree ')).length - 1;
    out(`\nclean-up: merge_phase removed each merged phase's worktree and branch (all pushed, nothing uncommitted), worktrees --prune any left: ${left} worktree${left === 1 ? '' : 's'} left`);
    if (left > 0) out(pruned.stdout.trimEnd());

    const { megas } = await call<{ megas: BoardMega[] }>(clients[0] as Client, 'board', {});
    out('');
    out(renderBoardLines(megas, { color: process.stdout.isTTY === true }).join('\n'));
    out('\npull requests (tier: s < 50 ≤ m < 150 ≤ l ≤ 300 < xl lines; gates checked by merge_phase):');
    for (const r of [...rows].sort((a, b) => a.pr - b.pr))
      out(
        `  #${String(r.pr).padEnd(2)} ${`${plan.key}/${r.phase}`.padEnd(9)} ${r.name.padEnd(23)} ${r.tier.padEnd(2)} ${String(r.lines).padStart(3)} lines  ${`${r.level.toUpperCase()}${r.waited ? ' (approved by a human)' : ''}`.padEnd(4)}  DoD ${r.dod}  ${r.merge_commit.slice(0, 7)}  by ${r.agent}`,
      );
    const squashes = gitSync(remote, 'rev-list', '--count', '--first-parent', 'main');
    out(`\n${rows.length} phases merged exactly once by ${AGENTS.length} agents in ${(ms / 1000).toFixed(2)} s; origin's main: the start + ${Number(squashes) - 1} squash commits`);
    if (opts.keep)
      fs.writeFileSync(
        path.join(dir, 'github-requests.json'),
        JSON.stringify(
          gh.requests.map((r) => ({ method: r.method, path: r.path, query: r.query, body: r.body })),
          null,
          1,
        ),
      );
    out(nextSteps(db, { keep: opts.keep === true, open: opts.keepOpen === true }).join('\n'));
    out(`  the pipeline there:  "phases": {"worktrees": true} in factory.config.json and GITHUB_TOKEN in the server's environment; each agent:`);
    out(`                       claim_phase → work, commit in its worktree → push, open the PR → classify_change → check_dod → merge_phase`);
    out(`  how it works:        docs/pipeline.md; the 12-phase coordination demo without git: npm run demo -- --simple`);
    if (opts.keep) out(`  kept:                ${repo} (worktrees: node ${path.relative(process.cwd(), CLI)} worktrees --db ${db}, run there), ${remote}`);
    if (opts.keepOpen) {
      out(`\ndashboard still running at ${server.url}/ — press Ctrl+C to stop`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return { rows, board: megas, ms, dir };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    const exited = new Promise((r) => (server.child.exitCode !== null ? r(null) : server.child.once('exit', r)));
    server.child.kill('SIGTERM');
    await exited;
    await gh.stop();
    // A git process the server started for a claim may still be writing when a run fails: retry.
    if (!opts.keep)
      try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch (e) {
        process.stderr.write(`could not remove ${dir}: ${(e as Error).message}\n`);
      }
  }
}
