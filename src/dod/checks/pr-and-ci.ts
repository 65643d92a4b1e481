/**
 * pr_created and ci_green, from one GitHub lookup: an open pull request for the branch, and its
 * head's CI green (dod.required_checks, else at least dod.min_checks, all green) on a tree with
 * nothing uncommitted. With dod.github "off" both are skipped by config.
 */
import { clipDetail, configSkip, type CheckResult, type Verdict } from '../domain.js';
import { currentBranch, headCommit } from '../repo.js';
import { decidedNow, type CheckId, type RepoCheck, type Run } from './check.js';

type Lookup = { pr: Verdict; ci: Verdict };

async function lookup(run: Run): Promise<Lookup> {
  const cfg = run.config.dod;
  // Loaded on first use: octokit is heavy, and a server that never checks a PR should not pay for it.
  const [{ githubClient, NO_GITHUB_TOKEN, NO_GITHUB_REPO, resolveGithubRepo }, { prAndCi }] = await Promise.all([import('../../integrations/github.js'), import('../github.js')]);
  const octo = githubClient(run.env);
  if (!octo) {
    const v: Verdict = { status: 'error', detail: `${NO_GITHUB_TOKEN} (FACTORY_GITHUB_API_URL for GitHub Enterprise); without it the PR and CI cannot be checked` };
    return { pr: v, ci: v };
  }
  const slug = await resolveGithubRepo(run.root, run.config.github);
  const [br, head] = await Promise.all([currentBranch(run.root), headCommit(run.root)]);
  const fail = (detail: string): Lookup => ({ pr: { status: 'error', detail }, ci: { status: 'error', detail } });
  if (!slug) return fail(NO_GITHUB_REPO);
  if (!br || !head) return fail('HEAD is not on a branch: check out the branch of the pull request');
  const r = await prAndCi(octo, { ...slug, branch: br, head: head.commit, required: cfg.required_checks, minChecks: cfg.min_checks });
  if (r.pull) run.pull = { ...r.pull, branch: br };
  // CI has seen commits only: work that is not committed is not proven green.
  if (head.tree !== run.tree && r.ci.status === 'pass') r.ci = { status: 'fail', detail: 'the working tree has uncommitted changes that CI has not seen: commit and push them' };
  return r;
}

export const pullRequest: RepoCheck = {
  per: 'repository',
  ids: ['pr_created', 'ci_green'],
  tree: false,
  start(run, want) {
    if (run.config.dod.github === 'off') {
      const v = configSkip('skipped by config: dod.github is "off" (no GitHub for this repository, so no pull request or CI to check)');
      return decidedNow(want, pullRequest.ids, (id) => ({ id, ...v, duration_ms: 0 }));
    }
    const out: Partial<Record<CheckId, Promise<CheckResult>>> = {};
    const t0 = Date.now();
    const gh = lookup(run).catch((e: unknown): Lookup => {
      const v: Verdict = { status: 'error', detail: clipDetail(`GitHub lookup failed: ${(e as Error).message}`) };
      return { pr: v, ci: v };
    });
    if (want.has('pr_created')) out.pr_created = gh.then((x) => ({ id: 'pr_created', ...x.pr, duration_ms: Date.now() - t0 }));
    if (want.has('ci_green')) out.ci_green = gh.then((x) => ({ id: 'ci_green', ...x.ci, duration_ms: Date.now() - t0 }));
    return out;
  },
};
