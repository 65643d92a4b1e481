import { FakeHttpServer, type RecordedRequest } from './http.js';

export interface FakePull {
  number: number;
  head: { ref: string; sha: string };
  base?: { ref: string };
  state?: 'open' | 'closed';
  labels?: string[];
  title?: string;
  /** Set by a merge (PUT …/merge). */
  merged?: boolean;
  merge_commit_sha?: string | null;
  requested_reviewers?: string[];
  requested_teams?: string[];
}

export interface FakeCheckRun {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
}

export interface FakeReview {
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
  /** The commit the review was given on (default: the pull request's head now). */
  commit_id?: string;
}

export interface FakeStatus {
  context: string;
  state: 'success' | 'failure' | 'error' | 'pending';
  description?: string | null;
}

type SyncHandler = (req: RecordedRequest, p: Record<string, string>) => { status: number; body?: unknown };
/** A route handler answered only for the accepted token (401 otherwise). */
type Guard = (h: SyncHandler) => SyncHandler;

/**
 * A local GitHub REST server answering the real routes octokit calls, for one or more
 * repositories: Actions variables, pulls by head branch, issue labels, check runs and commit
 * statuses (read, and created with POST /repos/{owner}/{repo}/statuses/{sha}), reviews and
 * the token's user, merging (PUT …/pulls/{n}/merge) and requested reviewers. State is plain data the test sets; every request is recorded for assertions.
 * Requests without `authorization: token …`/`Bearer …` get 401, like GitHub.
 */
export class FakeGitHub extends FakeHttpServer {
  variables = new Map<string, string>(); // "owner/repo/NAME" -> value
  pulls = new Map<string, FakePull[]>(); // "owner/repo" -> pulls
  checkRuns = new Map<string, FakeCheckRun[]>(); // sha -> runs
  statuses = new Map<string, FakeStatus[]>(); // sha -> statuses
  acceptedToken = 'test-token';
  /** The user the accepted token belongs to (GET /user). */
  tokenUser = 'factory-bot';
  reviews = new Map<string, FakeReview[]>(); // "owner/repo#number" -> reviews, oldest first
  /** A refusal the next merge of a pull request gets, as GitHub words it (405 not mergeable, 409 conflict…): "owner/repo#number" -> answer. */
  mergeRefusals = new Map<string, { status: number; message: string }>();

  constructor() {
    super();
    const auth = (req: RecordedRequest) => {
      const h = req.headers.authorization ?? '';
      return h === `token ${this.acceptedToken}` || h === `Bearer ${this.acceptedToken}`;
    };
    const unauthorized = { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    const guard: Guard = (h) => (req, p) => (auth(req) ? h(req, p) : unauthorized);

    this.route(
      'GET',
      '/repos/:owner/:repo/actions/variables/:name',
      guard((_r, p) => {
        const v = this.variables.get(`${p.owner}/${p.repo}/${p.name}`);
        return v === undefined
          ? { status: 404, body: { message: 'Not Found' } }
          : { status: 200, body: { name: p.name, value: v, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' } };
      }),
    );
    this.route(
      'GET',
      '/repos/:owner/:repo/pulls',
      guard((r, p) => {
        const all = this.pulls.get(`${p.owner}/${p.repo}`) ?? [];
        const state = r.query.state ?? 'open';
        const head = r.query.head; // "owner:branch"
        const list = all.filter((pr) => (state === 'all' || (pr.state ?? 'open') === state) && (!head || `${p.owner}:${pr.head.ref}` === head));
        return { status: 200, body: list.map((pr) => this.pullJson(p.owner as string, p.repo as string, pr)) };
      }),
    );
    this.route(
      'GET',
      '/repos/:owner/:repo/pulls/:number',
      guard((_r, p) => {
        const pr = (this.pulls.get(`${p.owner}/${p.repo}`) ?? []).find((x) => x.number === Number(p.number));
        return pr ? { status: 200, body: this.pullJson(p.owner as string, p.repo as string, pr) } : { status: 404, body: { message: 'Not Found' } };
      }),
    );
    this.route(
      'POST',
      '/repos/:owner/:repo/issues/:number/labels',
      guard((r, p) => {
        const pr = (this.pulls.get(`${p.owner}/${p.repo}`) ?? []).find((x) => x.number === Number(p.number));
        if (!pr) return { status: 404, body: { message: 'Not Found' } };
        const body = r.body as { labels?: string[] } | string[];
        const add = Array.isArray(body) ? body : (body.labels ?? []);
        pr.labels = [...new Set([...(pr.labels ?? []), ...add])];
        return { status: 200, body: pr.labels.map((name, i) => ({ id: i + 1, name, color: 'ededed' })) };
      }),
    );
    this.route(
      'DELETE',
      '/repos/:owner/:repo/issues/:number/labels/:name',
      guard((_r, p) => {
        const pr = (this.pulls.get(`${p.owner}/${p.repo}`) ?? []).find((x) => x.number === Number(p.number));
        if (!pr || !(pr.labels ?? []).includes(p.name as string)) return { status: 404, body: { message: 'Label does not exist' } };
        pr.labels = (pr.labels ?? []).filter((l) => l !== p.name);
        return { status: 200, body: pr.labels.map((name, i) => ({ id: i + 1, name })) };
      }),
    );
    this.route(
      'GET',
      '/repos/:owner/:repo/commits/:ref/check-runs',
      guard((_r, p) => {
        const runs = this.checkRuns.get(p.ref as string) ?? [];
        return { status: 200, body: { total_count: runs.length, check_runs: runs.map((c, i) => ({ id: i + 1, head_sha: p.ref, ...c })) } };
      }),
    );
    this.route(
      'GET',
      '/repos/:owner/:repo/commits/:ref/status',
      guard((_r, p) => {
        const st = this.statuses.get(p.ref as string) ?? [];
        const state = st.length === 0 ? 'pending' : st.some((s) => s.state === 'failure' || s.state === 'error') ? 'failure' : st.every((s) => s.state === 'success') ? 'success' : 'pending';
        return { status: 200, body: { state, sha: p.ref, total_count: st.length, statuses: st.map((s, i) => ({ id: i + 1, ...s })) } };
      }),
    );
    this.route(
      'POST',
      '/repos/:owner/:repo/statuses/:sha',
      guard((r, p) => {
        const b = (r.body ?? {}) as { state?: string; context?: string; description?: string; target_url?: string };
        if (!b.state || !['success', 'failure', 'error', 'pending'].includes(b.state)) return { status: 422, body: { message: 'Validation Failed', errors: [{ field: 'state', code: 'invalid' }] } };
        if (b.description !== undefined && b.description.length > 140) return { status: 422, body: { message: 'Validation Failed', errors: [{ field: 'description', code: 'too_long' }] } };
        const status: FakeStatus = { context: b.context ?? 'default', state: b.state as FakeStatus['state'], description: b.description ?? null };
        // GitHub keeps every status; the newest of each context is the one that counts (listed first).
        this.statuses.set(p.sha as string, [status, ...(this.statuses.get(p.sha as string) ?? [])]);
        return { status: 201, body: { id: this.requests.length, url: `${this.url}/repos/${p.owner}/${p.repo}/statuses/${p.sha}`, ...status, created_at: '2026-01-01T00:00:00Z' } };
      }),
    );
    this.reviewRoutes(guard);
    this.mergeRoutes(guard);
    this.route(
      'GET',
      '/repos/:owner/:repo/commits/:ref/statuses',
      guard((_r, p) => ({ status: 200, body: (this.statuses.get(p.ref as string) ?? []).map((s, i) => ({ id: i + 1, ...s })) })),
    );
  }

  /** Reviews and the token's user: who approved a pull request, and who the agents act as. */
  private reviewRoutes(guard: Guard): void {
    this.route(
      'GET',
      '/user',
      guard(() => ({ status: 200, body: { login: this.tokenUser, id: 1, type: 'User' } })),
    );
    this.route(
      'GET',
      '/repos/:owner/:repo/pulls/:number/reviews',
      guard((_r, p) => ({
        status: 200,
        body: (this.reviews.get(`${p.owner}/${p.repo}#${p.number}`) ?? []).map((r, i) => ({
          id: i + 1,
          user: { login: r.user, id: i + 100, type: 'User' },
          state: r.state,
          body: '',
          submitted_at: '2026-11-25T09:00:00Z',
          commit_id: r.commit_id ?? this.pulls.get(`${p.owner}/${p.repo}`)?.find((pr) => String(pr.number) === p.number)?.head.sha ?? null,
        })),
      })),
    );
  }

  /** Merging and requesting reviewers, with GitHub's answers: 405 not mergeable, 409 head moved, 422 bad input. */
  private mergeRoutes(guard: Guard): void {
    const find = (p: Record<string, string>) => (this.pulls.get(`${p.owner}/${p.repo}`) ?? []).find((x) => x.number === Number(p.number));
    this.route(
      'PUT',
      '/repos/:owner/:repo/pulls/:number/merge',
      guard((r, p) => {
        const pr = find(p);
        if (!pr) return { status: 404, body: { message: 'Not Found' } };
        const b = (r.body ?? {}) as { merge_method?: string; sha?: string };
        if (b.merge_method !== undefined && !['merge', 'squash', 'rebase'].includes(b.merge_method))
          return { status: 422, body: { message: 'Validation Failed', errors: [{ field: 'merge_method', code: 'invalid' }] } };
        const refusal = this.mergeRefusals.get(`${p.owner}/${p.repo}#${p.number}`);
        if (refusal) return { status: refusal.status, body: { message: refusal.message, documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request' } };
        if (pr.merged || (pr.state ?? 'open') !== 'open') return { status: 405, body: { message: 'Pull Request is not mergeable' } };
        if (b.sha !== undefined && b.sha !== pr.head.sha) return { status: 409, body: { message: 'Head branch was modified. Review and try the merge again.' } };
        const sha = this.squash(p.owner as string, p.repo as string, pr);
        pr.merged = true;
        pr.state = 'closed';
        pr.merge_commit_sha = sha;
        return { status: 200, body: { sha: pr.merge_commit_sha, merged: true, message: 'Pull Request successfully merged' } };
      }),
    );
    this.route(
      'POST',
      '/repos/:owner/:repo/pulls/:number/requested_reviewers',
      guard((r, p) => {
        const pr = find(p);
        if (!pr) return { status: 404, body: { message: 'Not Found' } };
        const b = (r.body ?? {}) as { reviewers?: string[]; team_reviewers?: string[] };
        if (!b.reviewers?.length && !b.team_reviewers?.length) return { status: 422, body: { message: 'Validation Failed', errors: [{ field: 'reviewers', code: 'missing' }] } };
        if (b.reviewers?.includes(this.tokenUser)) return { status: 422, body: { message: 'Review cannot be requested from pull request author.' } };
        pr.requested_reviewers = [...new Set([...(pr.requested_reviewers ?? []), ...(b.reviewers ?? [])])];
        pr.requested_teams = [...new Set([...(pr.requested_teams ?? []), ...(b.team_reviewers ?? [])])];
        return { status: 201, body: this.pullJson(p.owner as string, p.repo as string, pr) };
      }),
    );
  }

  private pullJson(owner: string, repo: string, pr: FakePull) {
    return {
      number: pr.number,
      state: pr.state ?? 'open',
      merged: pr.merged ?? false,
      merged_at: pr.merged ? '2026-11-25T10:00:00Z' : null,
      merge_commit_sha: pr.merge_commit_sha ?? null,
      user: { login: this.tokenUser, id: 1, type: 'User' },
      requested_reviewers: (pr.requested_reviewers ?? []).map((login, i) => ({ login, id: i + 200, type: 'User' })),
      requested_teams: (pr.requested_teams ?? []).map((slug, i) => ({ slug, name: slug, id: i + 300 })),
      title: pr.title ?? `PR ${pr.number}`,
      html_url: `https://github.com/${owner}/${repo}/pull/${pr.number}`,
      head: { ref: pr.head.ref, sha: pr.head.sha, label: `${owner}:${pr.head.ref}` },
      base: { ref: pr.base?.ref ?? 'main' },
      labels: (pr.labels ?? []).map((name, i) => ({ id: i + 1, name })),
    };
  }

  /** The merge commit of a squash-merge: made up here; a fake backed by a real repository makes it (test/fakes/github-remote.ts). */
  protected squash(_owner: string, _repo: string, pr: FakePull): string {
    return `${pr.head.sha.slice(0, 30)}${String(pr.number).padStart(10, '0')}`;
  }

  /** The newest status of `context` on `sha`, as a required status check reads it. */
  latestStatus(sha: string, context: string): FakeStatus | undefined {
    return (this.statuses.get(sha) ?? []).find((s) => s.context === context);
  }

  /** Environment for a factory-mcp process or client that should talk to this fake. */
  env(): Record<string, string> {
    return { GITHUB_TOKEN: this.acceptedToken, FACTORY_GITHUB_API_URL: this.url };
  }
}
