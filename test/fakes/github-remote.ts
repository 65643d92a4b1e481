import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeGitHub, type FakePull } from './github.js';
import type { RecordedRequest } from './http.js';

/**
 * The fake GitHub backed by a real bare repository, as GitHub is backed by its own: opening a pull
 * request (POST /repos/{owner}/{repo}/pulls) reads its head from the branch pushed there, and a
 * squash-merge really happens in it — the head's changes merged onto the base branch's tip
 * (`git merge-tree --write-tree`), one commit with one parent (`git commit-tree`), the branch moved
 * only if nobody moved it meanwhile (`git update-ref new old`). A conflict is GitHub's 405. Used by
 * the demo (`npm run demo`) and the tests that need a remote whose default branch moves.
 */
export class FakeGitHubRemote extends FakeGitHub {
  /** Squash commits made, in order: what the remote's default branch gained. */
  readonly squashes: { pr: number; head: string; commit: string }[] = [];

  constructor(readonly bare: string) {
    super();
    this.route('POST', '/repos/:owner/:repo/pulls', (req, p) => this.open(req, p.owner as string, p.repo as string));
  }

  private git(...argv: (string | Record<string, string>)[]): string {
    const args = argv.filter((a): a is string => typeof a === 'string');
    const extra = argv.find((a): a is Record<string, string> => typeof a !== 'string');
    const env = {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'GitHub',
      GIT_AUTHOR_EMAIL: 'noreply@github.com',
      GIT_COMMITTER_NAME: 'GitHub',
      GIT_COMMITTER_EMAIL: 'noreply@github.com',
      ...extra,
    };
    return execFileSync('git', ['-C', this.bare, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  private sha(ref: string): string | null {
    try {
      return this.git('rev-parse', '--verify', '--quiet', `refs/heads/${ref}^{commit}`);
    } catch {
      return null;
    }
  }

  private open(req: RecordedRequest, owner: string, repo: string) {
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${this.acceptedToken}` && auth !== `Bearer ${this.acceptedToken}`) return { status: 401, body: { message: 'Bad credentials' } };
    const b = (req.body ?? {}) as { title?: string; head?: string; base?: string };
    const invalid = (field: string) => ({ status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field, code: 'invalid' }] } });
    if (!b.title) return invalid('title');
    const head = b.head && this.sha(b.head);
    if (!b.head || !head) return invalid('head');
    if (!b.base || !this.sha(b.base)) return invalid('base');
    const list = this.pulls.get(`${owner}/${repo}`) ?? [];
    if (list.some((x) => x.head.ref === b.head && (x.state ?? 'open') === 'open')) return { status: 422, body: { message: `A pull request already exists for ${owner}:${b.head}.` } };
    const pr: FakePull = { number: list.length + 1, head: { ref: b.head, sha: head }, base: { ref: b.base }, title: b.title, state: 'open' };
    this.pulls.set(`${owner}/${repo}`, [...list, pr]);
    return {
      status: 201,
      body: { number: pr.number, state: 'open', title: pr.title, html_url: `https://github.com/${owner}/${repo}/pull/${pr.number}`, head: { ref: b.head, sha: head }, base: { ref: b.base } },
    };
  }

  /** The tree of `head` merged onto `tip`, or null on a conflict: `git merge-tree --write-tree` (git 2.38+), else a three-way read-tree in a scratch index. */
  private mergedTree(tip: string, head: string): string | null {
    try {
      return this.git('merge-tree', '--write-tree', '--no-messages', tip, head).split('\n')[0] as string;
    } catch (e) {
      if ((e as { status?: number }).status !== 129) return null; // 1: conflicts; 129: an older git without --write-tree
    }
    const index = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fake-github-')), 'index');
    try {
      const base = this.git('merge-base', tip, head);
      this.git('read-tree', '-i', '-m', '--aggressive', base, tip, head, { GIT_INDEX_FILE: index });
      return this.git('write-tree', { GIT_INDEX_FILE: index });
    } catch {
      return null;
    } finally {
      fs.rmSync(path.dirname(index), { recursive: true, force: true });
    }
  }

  protected override squash(_owner: string, _repo: string, pr: FakePull): string {
    const base = pr.base?.ref ?? 'main';
    const tip = this.sha(base);
    if (!tip) throw new Error(`no branch ${base}`);
    const tree = this.mergedTree(tip, pr.head.sha);
    if (!tree) throw Object.assign(new Error('Merge conflict'), { status: 405 });
    const commit = this.git('commit-tree', tree, '-p', tip, '-m', `${pr.title ?? `PR ${pr.number}`} (#${pr.number})`);
    this.git('update-ref', `refs/heads/${base}`, commit, tip);
    this.squashes.push({ pr: pr.number, head: pr.head.sha, commit });
    return commit;
  }
}
