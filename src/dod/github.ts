import type { Octokit } from 'octokit';
import { ciVerdict, clipDetail, type CiCheck, type Verdict } from './domain.js';

export interface GithubChecksInput {
  owner: string;
  repo: string;
  branch: string;
  head: string;
  required: readonly string[];
  minChecks: number;
}

/** The contexts of the statuses factory-mcp publishes itself (src/governance/statuses.ts). */
export const GATE_PREFIX = 'factory/';

const failure = (e: unknown): string => {
  const err = e as { status?: number; message?: string };
  return clipDetail(`GitHub API error${err.status ? ` ${err.status}` : ''}: ${err.message ?? String(e)}`, 200);
};

/**
 * pr_created and ci_green: the open pull request of the branch, then the check runs and commit
 * statuses of its head commit (of the local HEAD when there is no PR, since CI runs on push).
 */
export async function prAndCi(octo: Octokit, i: GithubChecksInput): Promise<{ pr: Verdict; ci: Verdict; pull?: { number: number; sha: string } }> {
  let sha = i.head;
  let pr: Verdict;
  let pull: { number: number; sha: string } | undefined;
  try {
    const pulls = await octo.rest.pulls.list({ owner: i.owner, repo: i.repo, head: `${i.owner}:${i.branch}`, state: 'open', per_page: 10 });
    const p = pulls.data[0];
    if (p) {
      pr = { status: 'pass', detail: `#${p.number} ${p.html_url}` };
      sha = p.head.sha;
      pull = { number: p.number, sha };
    } else pr = { status: 'fail', detail: `no open pull request for branch ${i.branch} in ${i.owner}/${i.repo}: push it and open one` };
  } catch (e) {
    const msg = failure(e);
    return { pr: { status: 'error', detail: msg }, ci: { status: 'error', detail: msg } };
  }
  if (sha !== i.head) return { pr, pull, ci: { status: 'fail', detail: `the pull request's head ${sha.slice(0, 12)} is not your HEAD ${i.head.slice(0, 12)}: push your commits and wait for CI` } };
  try {
    const [runs, status] = await Promise.all([
      octo.rest.checks.listForRef({ owner: i.owner, repo: i.repo, ref: sha, per_page: 100 }),
      octo.rest.repos.getCombinedStatusForRef({ owner: i.owner, repo: i.repo, ref: sha, per_page: 100 }),
    ]);
    const checks: CiCheck[] = [
      ...runs.data.check_runs.map((c): CiCheck => ({
        name: c.name,
        state: c.status !== 'completed' ? 'pending' : c.conclusion === 'success' || c.conclusion === 'neutral' || c.conclusion === 'skipped' ? 'success' : 'failure',
      })),
      // Our own gates (factory/dod…) are not CI: a failed DoD must not keep ci_green red forever.
      ...status.data.statuses
        .filter((s) => !s.context.startsWith(GATE_PREFIX))
        .map((s): CiCheck => ({ name: s.context, state: s.state === 'success' ? 'success' : s.state === 'pending' ? 'pending' : 'failure' })),
    ];
    const v = ciVerdict(checks, i.required, i.minChecks);
    return { pr, pull, ci: { status: v.status, detail: `${sha.slice(0, 12)}: ${v.detail}` } };
  } catch (e) {
    return { pr, pull, ci: { status: 'error', detail: failure(e) } };
  }
}
