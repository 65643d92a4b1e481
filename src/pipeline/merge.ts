/**
 * merge_phase: a claimed phase's pull request, squash-merged on GitHub when every gate holds —
 * the kill switch off, autonomy 3 or more (1–2: a dry run that reports and writes nothing), a
 * passing full DoD run on the tree of the PR's head commit, a classification of that head measured
 * from its merge base (ship or show; ask needs a human: an acknowledgement or an approving review
 * by a GitHub user other than the token's own), and the council the phase needed. The merge names
 * the head SHA, so GitHub refuses it if the branch moved after the gates were read. After it: the
 * operations log records the PR and merge commit, the phase completes (and chains), and the
 * clean-up and ticket hooks run. See docs/pipeline.md, "Merging".
 */
import type { Octokit } from 'octokit';
import type { Context } from '../core/context.js';
import type { MergeGate, MergePhaseArgs, MergePhaseResult } from '../../schemas/merge.js';
import type { StoredClassification } from '../changes/store.js';
import { git } from '../integrations/git.js';
import { defaultBranch } from '../dod/repo.js';
import { councilGuards } from '../council/service.js';
import { reviewApproval, unacknowledgedAsk } from '../dod/gate.js';
import { clip } from '../core/text.js';
import { phaseKey } from '../core/ids.js';
import type { PhaseRef } from '../phases/service.js';
import { noteWeakenings } from '../governance/service.js';
import { onClaimed, onMerged } from './lifecycle.js';
import { afterComplete } from './worktrees.js';

export type MergeContext = Pick<Context, 'store' | 'config' | 'root' | 'clock' | 'env' | 'session' | 'guards' | 'governance' | 'logger'>;

type Repo = { owner: string; repo: string };
type Refusal = NonNullable<MergePhaseResult['reason']>;

/** What merge_phase reads of a pull request. */
interface Pull {
  number: number;
  html_url: string;
  state: string;
  merged?: boolean | null;
  merged_at?: string | null;
  head: { ref: string; sha: string };
  base?: { ref: string };
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const short = (sha: string) => sha.slice(0, 12);
const githubMessage = (e: unknown): string => {
  const err = e as { status?: number; message?: string };
  return clip(`${err.status ? `${err.status} ` : ''}${err.message ?? String(e)}`, 300);
};

/** The phase's pull request: `pr` (a number, or the head branch of an open one), else the one check_dod found, else an open one on the phase's branch `factory/<mega>-<phase>-…`. */
async function findPull(octo: Octokit, repo: Repo, ctx: MergeContext, input: MergePhaseArgs, phase: string): Promise<Pull | null> {
  const get = async (n: number) => (await octo.rest.pulls.get({ ...repo, pull_number: n })).data as Pull;
  if (typeof input.pr === 'number') return get(input.pr).catch((e: { status?: number }) => (e.status === 404 ? null : Promise.reject(e)));
  if (input.pr !== undefined) {
    const list = (await octo.rest.pulls.list({ ...repo, head: `${repo.owner}:${input.pr}`, state: 'all', per_page: 10 })).data as Pull[];
    return list.find((p) => p.state === 'open') ?? list.find((p) => p.merged_at) ?? null;
  }
  const known = await ctx.store.dod.pull(input.mega, phase);
  if (known) return get(known.number);
  const prefix = `factory/${input.mega}-${phase}-`.toLowerCase();
  const open = (await octo.rest.pulls.list({ ...repo, state: 'open', per_page: 100 })).data as Pull[];
  return open.find((p) => p.head.ref.toLowerCase().startsWith(prefix)) ?? null;
}

/** The tree of a commit in this repository (null when git does not have it: fetch first). */
const treeOf = (root: string, sha: string) =>
  git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${sha}^{tree}`]).then(
    (t) => t.trim(),
    () => null,
  );

/** The merge base of a commit with the default branch (`branch`, found once by the caller): what classify_change measures a range from by default. */
async function mergeBaseOf(root: string, sha: string, branch: string): Promise<string | null> {
  return git(root, ['merge-base', sha, branch]).then(
    (b) => b.trim(),
    () => null,
  );
}

/**
 * Files: no path the PR changes (merge base → head) is reserved by another live claim. The
 * pre-commit hook can be skipped (--no-verify, cherry-pick, a clone without the database); this
 * check, on the commits GitHub would merge, cannot.
 */
async function filesGate(ctx: MergeContext, base: string | null, head: string): Promise<MergeGate> {
  if (!base) return { gate: 'files', state: 'fail', detail: `no merge base of ${short(head)} with the default branch: git fetch, then call merge_phase again` };
  const reservations = ctx.store.phases.reservations;
  if (!reservations) return { gate: 'files', state: 'pass', detail: 'no file reservations in this store' };
  const paths = (await git(ctx.root, ['diff', '--name-only', '-z', '--no-renames', base, head])).split('\0').filter(Boolean);
  const held = await reservations.holders(paths, ctx.clock(), new Set([await ctx.session.ensureInstance()]));
  if (!held.length) return { gate: 'files', state: 'pass', detail: `${paths.length} changed file${paths.length === 1 ? '' : 's'}, none reserved by another live claim` };
  const list = held
    .slice(0, 10)
    .map((h) => `${h.path} (reserved as ${JSON.stringify(h.glob)} by ${h.mega}/${String(h.phase)}, held by ${h.agent ? `${h.owner} (${h.agent})` : h.owner})`)
    .join(', ');
  return {
    gate: 'files',
    state: 'fail',
    detail: `the PR changes files another live claim reserved: ${list}${held.length > 10 ? ` and ${held.length - 10} more` : ''}; wait until that claim ends, or take them out of this PR`,
  };
}

/** DoD: the last full run of the phase on exactly the tree of the PR's head commit passed. */
async function dodGate(ctx: MergeContext, mega: string, phase: string, head: string, tree: string | null): Promise<MergeGate> {
  if (!tree) return { gate: 'dod', state: 'fail', detail: `the PR's head ${short(head)} is not in this repository: git fetch, then run check_dod on it` };
  const run = await ctx.store.dod.lastOnTree(mega, phase, tree);
  if (!run)
    return {
      gate: 'dod',
      state: 'fail',
      detail: `no full check_dod run of ${mega}/${phase} on the tree of the PR's head ${short(head)}: run check_dod with that commit checked out and nothing uncommitted`,
    };
  if (!run.passed) return { gate: 'dod', state: 'fail', detail: `check_dod on the PR's head ${short(head)} scored ${run.score}: fix, push, run it again` };
  return { gate: 'dod', state: 'pass', detail: `check_dod ${run.score} on ${short(head)}` };
}

/** Ship/Show/Ask: the latest classification of the head, measured from its merge base; an Ask (this one or an earlier one of the phase) needs a human. */
async function changeGate(
  ctx: MergeContext,
  mega: string,
  phase: string,
  head: string,
  base: string | null,
): Promise<{ gate: MergeGate; c: StoredClassification | null; ask: StoredClassification | null }> {
  const redo = `classify_change {mega, phase, token, head: "${head}"} in a checkout of it (base: default)`;
  const c = await ctx.store.changes.latestOfHead(mega, phase, head);
  if (!c) return { gate: { gate: 'change', state: 'fail', detail: `no classification of the PR's head ${short(head)}: ${redo}` }, c, ask: null };
  if (!base || c.base !== base)
    return {
      gate: {
        gate: 'change',
        state: 'fail',
        detail: `classification #${c.id} measured from ${c.base ? short(c.base) : 'no base'}, not from the merge base ${base ? short(base) : '(none found)'}: ${redo}`,
      },
      c,
      ask: null,
    };
  const ask = await unacknowledgedAsk(ctx.store, mega, phase);
  const level = c.level.toUpperCase();
  if (ask)
    return {
      gate: {
        gate: 'change',
        state: 'wait',
        detail: `classification #${ask.id} is ASK (${ask.reasons
          .filter((r) => r.level === 'ask')
          .map((r) => r.rule)
          .join(', ')}): a human must approve`,
      },
      c,
      ask,
    };
  return {
    gate: {
      gate: 'change',
      state: 'pass',
      detail: `classification #${c.id}: ${level}${c.level === 'ask' ? ', acknowledged by a human' : ''}${c.size ? `, ${c.size.lines} lines (${c.size.tier})` : ''}`,
    },
    c,
    ask,
  };
}

const REFUSAL: Record<'dod' | 'change' | 'council' | 'files', Refusal> = { dod: 'dod_not_passed', change: 'not_classified', council: 'council_required', files: 'files_reserved' };

/**
 * Merges the phase's pull request when every gate holds; otherwise `merged: false` with the
 * blocking gate as `reason` and what to do in `message`. The MCP tool and `factory-mcp merge`
 * both call this.
 */
export async function mergePhase(ctx: MergeContext, input: MergePhaseArgs): Promise<MergePhaseResult> {
  const gates: MergeGate[] = [];
  const held = await ctx.store.phases.verifyToken(input, await ctx.session.ensureInstance());
  if (!held.ok) return { merged: false, gates, reason: held.reason, ...(held.owner ? { owner: held.owner } : {}), message: held.message };
  const label = `${input.mega}/${held.key}`;
  const refuse = (reason: Refusal, why: string, more: Partial<MergePhaseResult> = {}): MergePhaseResult => ({ merged: false, ...more, gates, reason, message: `${label} not merged: ${why}` });

  await ctx.guards.prepare?.();
  const kill = ctx.governance?.killSwitch();
  gates.push({ gate: 'kill_switch', state: kill?.on ? 'fail' : 'pass', detail: kill?.message ?? 'kill switch is off' });
  if (kill?.on) return refuse('kill_switch', kill.message);
  const autonomy = ctx.config.autonomy;
  const dry = autonomy < 3;
  gates.push({ gate: 'autonomy', state: dry ? 'wait' : 'pass', detail: dry ? `autonomy ${autonomy}: reports what it would do and merges nothing (3 or more merges)` : `autonomy ${autonomy}` });

  const { githubClient, resolveGithubRepo, NO_GITHUB_TOKEN, NO_GITHUB_REPO } = await import('../integrations/github.js');
  const octo = githubClient(ctx.env);
  if (!octo) return refuse('no_github', NO_GITHUB_TOKEN);
  const repo = await resolveGithubRepo(ctx.root, ctx.config.github);
  if (!repo) return refuse('no_github', NO_GITHUB_REPO);
  let pull: Pull | null;
  try {
    pull = await findPull(octo, repo, ctx, input, held.key);
  } catch (e) {
    return refuse('no_github', `GitHub could not be asked for the pull request: ${githubMessage(e)}`);
  }
  if (!pull) return refuse('no_pull_request', `no pull request found for it: push its branch and open one, or pass pr (its number or head branch)`);
  const head = pull.head.sha;
  const at = { pr: pull.number, url: pull.html_url, head };
  if (!SHA.test(head)) return refuse('no_pull_request', `pull request #${pull.number} has no usable head commit`, at);
  // Merged elsewhere (not through these gates): completing is complete_phase's, whose own gates apply.
  if (pull.merged || pull.merged_at) return refuse('no_pull_request', `pull request #${pull.number} is already merged on GitHub: call complete_phase`, at);
  if (pull.state !== 'open') return refuse('no_pull_request', `pull request #${pull.number} is ${pull.state}: reopen it or open a new one`, at);
  // The gates are read against the default branch (classification from its merge base): a PR aimed elsewhere would merge unjudged.
  // One lookup of the default branch (origin/HEAD resolved: `origin/main`, or a local `main`), for the PR's base and the merge base.
  const branch = await defaultBranch(ctx.root, undefined);
  const target = branch?.replace(/^origin\//, '');
  if (!branch || !target) return refuse('wrong_base', `the default branch of this repository is not known (no origin/HEAD, main or master): the gates are measured from it`, at);
  if (pull.base?.ref !== target)
    return refuse('wrong_base', `pull request #${pull.number} targets ${JSON.stringify(pull.base?.ref ?? null)}, not the default branch ${JSON.stringify(target)}: retarget it`, at);

  // The gates, each judged on its own and all reported.
  const [tree, base] = await Promise.all([treeOf(ctx.root, head), mergeBaseOf(ctx.root, head, branch)]);
  gates.push(await dodGate(ctx, input.mega, held.key, head, tree));
  const change = await changeGate(ctx, input.mega, held.key, head, base);
  gates.push(change.gate);
  const council = (await councilGuards(ctx.store, ctx.config).phase?.(held.phase, await ctx.store.phases.gatePoints(input.mega, held.key, held.phase.points))) ?? null;
  gates.push(council ? { gate: 'council', state: 'fail', detail: council.message } : { gate: 'council', state: 'pass', detail: 'no council needed, or it decided go/adjust' });
  gates.push(await filesGate(ctx, base, head));
  const tier = change.c?.size ?? undefined;
  const found = { ...at, ...(change.c ? { level: change.c.level } : {}), ...(tier ? { size: tier } : {}) };

  const failing = gates.filter((g) => g.state === 'fail') as (MergeGate & { gate: 'dod' | 'change' | 'council' | 'files' })[];
  if (failing.length) return refuse(REFUSAL[failing[0]!.gate], failing.map((g) => `${g.gate}: ${g.detail}`).join('; '), found);

  // Ask: approved on GitHub by someone other than the token's user, else put it in front of the reviewers and wait.
  if (change.ask) {
    const approval = await reviewApproval(octo, repo, pull.number, head).catch((e: unknown) => ({ by: null, why: `GitHub could not be asked about reviews: ${githubMessage(e)}` }));
    if (approval.by) change.gate.state = 'pass';
    change.gate.detail += `; ${approval.why}`;
    if (!approval.by) {
      const how = `a human acknowledges classification #${change.ask.id} (dashboard, or \`factory-mcp ack change ${change.ask.id}\` with FACTORY_ACK_TOKEN) or approves #${pull.number} on GitHub; then call merge_phase again`;
      if (dry) return refuse('dry_run', `it waits for a human (Ask); at autonomy 3 or more it would label #${pull.number} "ask" and request ${reviewersText(ctx)}; ${how}`, found);
      const asked = await askInTheOpen(octo, repo, pull.number, 'ask', ctx.config.github.reviewers);
      return refuse('awaiting_human', `Ask: ${asked}; ${how}`, found);
    }
  }
  const level = change.c?.level ?? 'ask';
  if (dry)
    return refuse(
      'dry_run',
      `every gate holds; at autonomy 3 or more it would squash-merge #${pull.number} at ${short(head)} (${level.toUpperCase()}${tier ? `, ${tier.tier}` : ''})${level === 'show' ? ` and label it "show", requesting ${reviewersText(ctx)}` : ''}`,
      found,
    );

  let mergeCommit: string;
  try {
    const r = await octo.rest.pulls.merge({ ...repo, pull_number: pull.number, merge_method: 'squash', sha: head });
    mergeCommit = r.data.sha;
  } catch (e) {
    const status = (e as { status?: number }).status;
    const what = status === 405 ? 'not mergeable (a failing required check, a review required, or branch protection)' : status === 409 ? 'the head moved or conflicts with the base' : 'refused';
    return refuse('github_refused', `GitHub ${what}: ${githubMessage(e)}; fix it on the branch (rebase, push, wait for checks), run the gates again, then call merge_phase again`, found);
  }
  const shown = level === 'show' ? await askInTheOpen(octo, repo, pull.number, 'show', ctx.config.github.reviewers) : null;
  return afterMerge(ctx, input, held.phase, { ...found, merge_commit: mergeCommit }, gates, repo, shown ? `Show: ${shown}` : null);
}

function reviewersText(ctx: MergeContext): string {
  const r = ctx.config.github.reviewers;
  return r.length ? r.join(', ') : 'no reviewers (github.reviewers is empty)';
}

/** Ask in the open (and Show after its merge): the label, and the configured reviewers requested; says what happened, never throws. */
async function askInTheOpen(octo: Octokit, repo: Repo, pr: number, label: 'ask' | 'show', reviewers: readonly string[]): Promise<string> {
  const said: string[] = [];
  try {
    await octo.rest.issues.addLabels({ ...repo, issue_number: pr, labels: [label] });
    said.push(`labelled #${pr} "${label}"`);
  } catch (e) {
    said.push(`could not label #${pr} "${label}" (${githubMessage(e)})`);
  }
  if (!reviewers.length) said.push('no reviewers to request (github.reviewers)');
  else {
    const team_reviewers = reviewers.filter((r) => r.includes('/')).map((r) => r.slice(r.indexOf('/') + 1));
    const users = reviewers.filter((r) => !r.includes('/'));
    try {
      await octo.rest.pulls.requestReviewers({ ...repo, pull_number: pr, reviewers: users, team_reviewers });
      said.push(`requested ${reviewers.join(', ')}`);
    } catch (e) {
      said.push(`could not request reviewers (${githubMessage(e)})`);
    }
  }
  return said.join(', ');
}

/**
 * After the merge: one transaction logs it (PR and merge commit; kept even if the completion is
 * refused, since the merge happened) and completes the phase (chained when asked); then the
 * branch and worktree clean-up, and the phase's Linear tickets queued to move to Done.
 */
async function afterMerge(
  ctx: MergeContext,
  input: MergePhaseArgs,
  ref: PhaseRef,
  merged: Omit<MergePhaseResult, 'merged' | 'gates' | 'message'> & { pr: number; merge_commit: string },
  gates: MergeGate[],
  repo: Repo,
  note: string | null,
): Promise<MergePhaseResult> {
  const instance = await ctx.session.ensureInstance();
  const phase = phaseKey(ref.id);
  const label = `${input.mega}/${phase}`;
  const done = await ctx.store.tx(async () => {
    await ctx.store.operations.append(ctx.clock(), {
      instance,
      kind: 'merge',
      mega: input.mega,
      phase,
      message: `${instance} squash-merged pull request #${merged.pr} of ${label} as ${short(merged.merge_commit)}${merged.level ? ` (${merged.level.toUpperCase()}${merged.size ? `, ${merged.size.tier}` : ''})` : ''}`,
      data: { pr: merged.pr, merge_commit: merged.merge_commit, head: merged.head ?? null, level: merged.level ?? null, size: merged.size ?? null, repo: `${repo.owner}/${repo.repo}` },
    });
    const r = await ctx.store.phases.complete(instance, { mega: input.mega, phase: input.phase, token: input.token, chain: input.chain }, ctx.clock(), ctx.guards);
    if (r.completed) r.message += await noteWeakenings(ctx, 'complete', input.mega, phase);
    return r;
  });
  if (done.next) await onClaimed(ctx, done.next); // the chained claim's tickets → started
  // The chained claim's worktree starts from origin/HEAD: fetch first, so it holds the commit just merged (a failed fetch only leaves it older).
  if (done.next?.claimed)
    await git(ctx.root, ['fetch', '--quiet', 'origin']).catch((e: unknown) => ctx.logger.warn(`git fetch origin before the chained claim's worktree failed: ${(e as Error).message}`));
  // As complete_phase: the phase's worktree and branch deleted when nothing would be lost (else kept, said in the message), the chained claim given its own.
  await afterComplete(ctx, input, done);
  const tickets = await onMerged(ctx, ref, { prUrl: merged.url ?? `https://github.com/${repo.owner}/${repo.repo}/pull/${merged.pr}`, prNumber: merged.pr, mergeCommit: merged.merge_commit });
  const parts = [`merged #${merged.pr} of ${label} as ${short(merged.merge_commit)}`, note, done.completed ? done.message : `phase NOT completed: ${done.message}`].filter(Boolean);
  return {
    merged: true,
    ...merged,
    gates,
    completed: done.completed,
    ...(done.next ? { next: done.next } : {}),
    ...(tickets.tickets ? { tickets: tickets.tickets } : {}),
    message: parts.join('; ') + tickets.message,
  };
}
