import type { Octokit } from 'octokit';
import type { Config } from '../../schemas/config.js';
import { phaseKey, type PhaseId } from '../core/ids.js';
import { git } from '../integrations/git.js';
import type { Store } from '../core/store.js';
import type { ServiceContext } from '../core/context.js';

/** A gate refusing complete_phase: a normal answer, not an error. */
export interface CompleteRefusal {
  completed: false;
  reason: 'dod_not_passed' | 'awaiting_human';
  message: string;
}

/**
 * With dod.require_for_complete, a phase completes only after a full check_dod run for it
 * passed: the last run is the one that counts, so a later failing run closes the gate again.
 */
export async function dodGate(store: Store, config: Config, mega: string, phase: PhaseId): Promise<CompleteRefusal | null> {
  if (!config.dod.require_for_complete) return null;
  const last = await store.dod.last(mega, phaseKey(phase));
  if (last && last.passed && !last.partial) return null;
  const why = !last ? 'no check_dod run for it yet' : last.partial ? `its last check_dod ran only some checks (${last.score})` : `its last check_dod scored ${last.score}`;
  return { completed: false, reason: 'dod_not_passed', message: `${mega}/${phaseKey(phase)} cannot complete: ${why}; run check_dod until all ten pass (dod.require_for_complete)` };
}

/**
 * The phase's latest Ask classification when no human has acknowledged it yet. A Ship or Show
 * classified after it does not wave it through: the agent chooses what it classifies (a file
 * list, a diff, a working tree with the risky part stashed).
 */
/** The phase's latest Ask classification when no human acknowledged it (whatever was classified after it). */
export async function unacknowledgedAsk(store: Store, mega: string, phase: PhaseId) {
  const c = await store.changes.latestAsk(mega, phase);
  return c && !(await store.acks.get('change', String(c.id))) ? c : null;
}

async function pendingAsk(store: Store, config: Config, mega: string, phase: PhaseId) {
  return config.changes.ask_blocks_complete ? unacknowledgedAsk(store, mega, phase) : null;
}

/**
 * Who approved a pull request, by GitHub's reviews: a reviewer's latest approve/request-changes
 * verdict counts, an approval counts only on the head commit as it is now (`stale` names the
 * reviewers whose approval is of an earlier commit), and never the token's own user `me` (the
 * agents act as that user). Pure.
 */
export function approvingReviewer(reviews: readonly { user?: { login: string } | null; state: string; commit_id?: string | null }[], me: string, head: string): { by: string | null; stale: string[] } {
  const latest = new Map<string, string>();
  for (const r of reviews)
    if (r.user && (r.state === 'APPROVED' || r.state === 'CHANGES_REQUESTED' || r.state === 'DISMISSED')) latest.set(r.user.login, r.state === 'APPROVED' && r.commit_id !== head ? 'STALE' : r.state);
  const by = [...latest].find(([login, state]) => state === 'APPROVED' && login.toLowerCase() !== me.toLowerCase());
  return { by: by?.[0] ?? null, stale: [...latest].filter(([, state]) => state === 'STALE').map(([login]) => login) };
}

/** Whether pull request `pr` is approved at `head` by someone other than the GITHUB_TOKEN's user (two GitHub calls), and the words saying so. */
export async function reviewApproval(octo: Octokit, repo: { owner: string; repo: string }, pr: number, head: string): Promise<{ by: string | null; why: string }> {
  const [me, reviews] = await Promise.all([octo.rest.users.getAuthenticated(), octo.paginate(octo.rest.pulls.listReviews, { ...repo, pull_number: pr, per_page: 100 })]);
  const { by, stale } = approvingReviewer(reviews, me.data.login, head);
  return by
    ? { by, why: `approved on pull request #${pr} at its head ${head.slice(0, 12)} by ${by}` }
    : {
        by: null,
        why: `no approving review on pull request #${pr} by anyone but ${me.data.login} (the GITHUB_TOKEN's own user, whose approvals do not count) at its head ${head.slice(0, 12)}${stale.length ? `; approvals of earlier commits do not count (${stale.join(', ')})` : ''}`,
      };
}

/** What GitHub says about the phase's pull request: approved by someone other than the token's user, or why not. */
interface Approval {
  classification: number;
  approved_by: string | null;
  why: string;
}

/**
 * An approving review counts when its author is not the GITHUB_TOKEN's own user (the agents act
 * as that user), it is that reviewer's latest approve/request-changes verdict, and it was given on
 * the pull request's head commit as it is now (a push after the approval makes it stale). The pull
 * request is the one the phase's last check_dod found, else the open one of the current branch.
 */
async function githubApproval(root: string, config: Config, store: Store, mega: string, phase: PhaseId, classification: number, env: NodeJS.ProcessEnv): Promise<Approval> {
  const out = (approved_by: string | null, why: string): Approval => ({ classification, approved_by, why });
  const { githubClient, resolveGithubRepo } = await import('../integrations/github.js'); // octokit loads on first use, not at every start
  const octo = githubClient(env);
  if (!octo) return out(null, 'no GITHUB_TOKEN to look for an approving review');
  const repo = await resolveGithubRepo(root, config.github).catch(() => null);
  if (!repo) return out(null, 'no GitHub repository configured to look for an approving review');
  try {
    const fromDod = (await store.dod.last(mega, phaseKey(phase)))?.checks.find((c) => c.id === 'pr_created' && c.status === 'pass');
    let pr = Number(/#(\d+)/.exec(fromDod?.detail ?? '')?.[1] ?? NaN);
    let head: string;
    if (Number.isSafeInteger(pr)) head = (await octo.rest.pulls.get({ ...repo, pull_number: pr })).data.head.sha;
    else {
      const branch = (await git(root, ['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
      const pulls = await octo.rest.pulls.list({ ...repo, head: `${repo.owner}:${branch}`, state: 'open', per_page: 1 });
      if (!pulls.data[0]) return out(null, `no open pull request for branch ${branch}`);
      pr = pulls.data[0].number;
      head = pulls.data[0].head.sha;
    }
    const r = await reviewApproval(octo, repo, pr, head);
    return out(r.by, r.why);
  } catch (e) {
    return out(null, `GitHub could not be asked about approvals: ${(e as Error).message.slice(0, 200)}`);
  }
}

/**
 * The gates complete_phase applies after the claim token is accepted: DoD (when required) and
 * Ask waiting for a human (changes.ask_blocks_complete). The GitHub lookup is done here, before
 * the completion transaction; the returned check runs inside it and re-reads the store.
 */
export async function completeGates(deps: Pick<ServiceContext, 'store' | 'config' | 'root' | 'env'>, mega: string, phase: PhaseId): Promise<() => Promise<CompleteRefusal | null>> {
  const { store, config } = deps;
  const ask = await pendingAsk(store, config, mega, phase);
  const approval = ask ? await githubApproval(deps.root, config, store, mega, phase, ask.id, deps.env) : null;
  return async () => {
    const dod = await dodGate(store, config, mega, phase);
    if (dod) return dod;
    const c = await pendingAsk(store, config, mega, phase);
    if (!c || (approval?.classification === c.id && approval.approved_by !== null)) return null;
    const rules = c.reasons.filter((r) => r.level === 'ask').map((r) => r.rule);
    return {
      completed: false,
      reason: 'awaiting_human',
      message:
        `${mega}/${c.phase} waits for a human: its latest Ask change, classification #${c.id}, is ASK (${rules.join(', ') || 'ask'}). ` +
        `A human acknowledges it on the dashboard (Ship / Show / Ask → acknowledge), with \`factory-mcp ack change ${c.id}\` in a shell holding FACTORY_ACK_TOKEN, ` +
        `or by approving the phase's pull request on GitHub as a user other than the GITHUB_TOKEN's own` +
        `${approval && approval.classification === c.id ? ` (${approval.why})` : ''}; then call complete_phase again (changes.ask_blocks_complete)`,
    };
  };
}
