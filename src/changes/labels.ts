import type { Octokit } from 'octokit';
import { git } from '../integrations/git.js';
import { NO_GITHUB_REPO, NO_GITHUB_TOKEN, githubClient, resolveGithubRepo } from '../integrations/github.js';

/** Why labelling could not be done (no token, no pull request, GitHub refused): said to the user, never thrown past the CLI. */
export class LabelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelError';
  }
}

export interface LabelResult {
  owner: string;
  repo: string;
  branch: string;
  number: number;
  url: string;
  added: string[];
  removed: string[];
}

/** owner/repo for labelling: the config's github section, else the origin remote. */
export async function githubRepo(cwd: string, configured: { owner?: string | undefined; repo?: string | undefined }): Promise<{ owner: string; repo: string }> {
  const r = await resolveGithubRepo(cwd, configured);
  if (!r) throw new LabelError(NO_GITHUB_REPO);
  return r;
}

/**
 * Puts exactly one label of `family` on the open pull request of the current branch, removing
 * the others of the family; labels outside the family are left alone. The branch is
 * GITHUB_HEAD_REF in a pull-request CI run, else the checked-out branch.
 */
export async function labelPullRequest(
  cwd: string,
  opts: { label: string; family: readonly string[]; github: { owner?: string | undefined; repo?: string | undefined }; env: NodeJS.ProcessEnv },
): Promise<LabelResult> {
  const env = opts.env;
  const octo: Octokit | null = githubClient(env);
  if (!octo) throw new LabelError(NO_GITHUB_TOKEN);
  const { owner, repo } = await githubRepo(cwd, opts.github);
  const branch = env.GITHUB_HEAD_REF || (await git(cwd, ['rev-parse', '--abbrev-ref', 'HEAD'])).trim();
  if (!branch || branch === 'HEAD') throw new LabelError('detached HEAD: check out the branch of the pull request (or set GITHUB_HEAD_REF)');
  try {
    const pulls = await octo.rest.pulls.list({ owner, repo, head: `${owner}:${branch}`, state: 'open', per_page: 10 });
    const pr = pulls.data[0];
    if (!pr) throw new LabelError(`no open pull request for branch ${branch} in ${owner}/${repo}`);
    const current = new Set(pr.labels.map((l) => (typeof l === 'string' ? l : l.name)));
    const removed: string[] = [];
    for (const other of opts.family) {
      if (other === opts.label || !current.has(other)) continue;
      await octo.rest.issues.removeLabel({ owner, repo, issue_number: pr.number, name: other });
      removed.push(other);
    }
    const added: string[] = [];
    if (!current.has(opts.label)) {
      await octo.rest.issues.addLabels({ owner, repo, issue_number: pr.number, labels: [opts.label] });
      added.push(opts.label);
    }
    return { owner, repo, branch, number: pr.number, url: pr.html_url, added, removed };
  } catch (e) {
    if (e instanceof LabelError) throw e;
    const status = (e as { status?: number }).status;
    throw new LabelError(`GitHub refused${status ? ` (HTTP ${status})` : ''}: ${(e as Error).message}`);
  }
}
