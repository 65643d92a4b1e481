import { Octokit } from 'octokit';
import { git } from './git.js';

/**
 * The GitHub client. The token comes from the environment only (GITHUB_TOKEN); the API base
 * URL from FACTORY_GITHUB_API_URL (tests point it at a local fake; GitHub Enterprise users at
 * theirs). Returns null without a token, and callers say what to set.
 */
export function githubClient(env: NodeJS.ProcessEnv): Octokit | null {
  const token = env.GITHUB_TOKEN;
  if (!token) return null;
  return new Octokit({
    auth: token,
    baseUrl: env.FACTORY_GITHUB_API_URL || 'https://api.github.com',
    userAgent: 'factory-mcp',
    request: { retries: 0 },
    throttle: { enabled: false },
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
}

export const NO_GITHUB_TOKEN = 'GITHUB_TOKEN is not set: export a token with repo read access (and pull request write access for labels)';

/** owner/repo from a git remote URL (https or ssh form), or null. */
export function parseGithubRemote(url: string): { owner: string; repo: string } | null {
  const m = /github\.com[/:]([^/\s]+)\/([^/\s]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m ? { owner: m[1] as string, repo: m[2] as string } : null;
}

export const NO_GITHUB_REPO = 'no GitHub repository: set "github": {"owner", "repo"} in factory.config.json or add a github.com origin remote';

/** owner/repo from the config's `github` section, else from `git remote get-url origin`; null when neither says. */
export async function resolveGithubRepo(cwd: string, configured: { owner?: string | undefined; repo?: string | undefined }): Promise<{ owner: string; repo: string } | null> {
  if (configured.owner && configured.repo) return { owner: configured.owner, repo: configured.repo };
  const parsed = parseGithubRemote(await git(cwd, ['remote', 'get-url', 'origin']).catch(() => ''));
  return parsed ? { owner: configured.owner ?? parsed.owner, repo: configured.repo ?? parsed.repo } : null;
}
