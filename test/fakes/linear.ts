import { FakeHttpServer, type FakeResponse, type RecordedRequest } from './http.js';

export interface FakeLinearIssue {
  id: string;
  identifier: string;
  title: string;
  estimate?: number | null;
  stateId: string;
  /** Default `team-1`. */
  teamId?: string;
  parentId?: string | null;
  /** Outgoing relations: type (`blocks`, `related`, …) and the other issue's id. */
  relations?: { type: string; relatedId: string }[];
}

export interface FakeLinearState {
  id: string;
  name: string;
  type: 'triage' | 'backlog' | 'unstarted' | 'started' | 'completed' | 'canceled';
  /** Default `team-1`. */
  teamId?: string;
  /** Order within the team's workflow (default: its index in `states`). */
  position?: number;
}

export interface FakeLinearComment {
  id: string;
  issueId: string;
  body: string;
  url: string;
}

/** One GraphQL operation as received: its name (from the document), variables and auth header. */
export interface LinearOperation {
  name: string;
  variables: Record<string, unknown>;
  authorization: string | undefined;
}

const TS = '2026-11-25T09:00:00.000Z';
const PAGE = { __typename: 'PageInfo', hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null };

/**
 * A local Linear GraphQL endpoint answering the operations @linear/sdk sends (named by the SDK's
 * documents: `issue`, `issue_children`, `issue_relations`, `workflowState`, `workflowStates`
 * (filtered by team), `updateIssue` (stateId), `createComment` (an `id` given twice is refused, as
 * by Linear), `comment`), reached by the real LinearClient through `apiUrl`. Every request is recorded.
 * Auth: the `authorization` header must equal `apiKey`, else Linear's authentication error.
 * `failWith` makes every request fail like Linear does (`auth`, `ratelimit`, `server`);
 * `failNext(n)` only the next n requests — before doing anything, or (`applied`) after doing it,
 * as when Linear's answer is lost on the way back.
 */
export class FakeLinear extends FakeHttpServer {
  apiKey = 'lin_api_test';
  issues: FakeLinearIssue[] = [];
  states: FakeLinearState[] = [];
  comments: FakeLinearComment[] = [];
  failWith: 'auth' | 'ratelimit' | 'server' | null = null;
  /** Children per page, to exercise pagination. */
  pageSize = 50;
  private failing: { left: number; kind: 'ratelimit' | 'server'; applied: boolean; operations?: string[] } = { left: 0, kind: 'server', applied: false };

  /**
   * The next `n` requests (of `operations` only, when given) fail — `server`: 503, `ratelimit`: 429;
   * with `applied` each is carried out first and only its answer fails.
   */
  failNext(n: number, opts: { kind?: 'ratelimit' | 'server'; applied?: boolean; operations?: string[] } = {}): void {
    this.failing = { left: n, kind: opts.kind ?? 'server', applied: opts.applied ?? false, ...(opts.operations ? { operations: opts.operations } : {}) };
  }

  constructor() {
    super();
    this.route('POST', '/graphql', (req) => this.answer(req));
  }

  get apiUrl(): string {
    return `${this.url}/graphql`;
  }

  /** The operations received, in order. */
  operations(): LinearOperation[] {
    return this.requests
      .filter((r) => r.path === '/graphql')
      .map((r) => {
        const body = r.body as { query?: string; variables?: Record<string, unknown> };
        return { name: operationName(body.query ?? ''), variables: body.variables ?? {}, authorization: r.headers.authorization };
      });
  }

  private answer(req: RecordedRequest): FakeResponse {
    const op = operationName((req.body as { query?: string } | undefined)?.query ?? '');
    if (this.failing.left > 0 && (!this.failing.operations || this.failing.operations.includes(op))) {
      this.failing.left--;
      const fail = this.failing.kind === 'ratelimit' ? rateLimited : unavailable;
      if (!this.failing.applied) return fail;
      this.respond(req);
      return fail;
    }
    return this.respond(req);
  }

  private respond(req: RecordedRequest): FakeResponse {
    if (req.headers.authorization !== this.apiKey || this.failWith === 'auth') {
      return {
        status: 400,
        body: {
          errors: [
            {
              message: 'Authentication required, not authenticated',
              extensions: { type: 'authentication error', code: 'AUTHENTICATION_ERROR', userPresentableMessage: 'You need to authenticate to access this operation.' },
            },
          ],
        },
      };
    }
    if (this.failWith === 'ratelimit') return rateLimited;
    if (this.failWith === 'server') return unavailable;
    const body = req.body as { query: string; variables?: Record<string, unknown> };
    const v = body.variables ?? {};
    const name = operationName(body.query);
    switch (name) {
      case 'issue': {
        const i = this.find(v.id);
        return i ? ok({ issue: this.issueJson(i) }) : notFound('Issue');
      }
      case 'issue_children': {
        const parent = this.find(v.id);
        if (!parent) return notFound('Issue');
        const all = this.issues.filter((c) => c.parentId === parent.id);
        const start = typeof v.after === 'string' ? Number(v.after) : 0;
        const size = Math.min(typeof v.first === 'number' ? v.first : 50, this.pageSize);
        const nodes = all.slice(start, start + size);
        const end = start + nodes.length;
        return ok({
          issue: {
            __typename: 'Issue',
            children: { __typename: 'IssueConnection', nodes: nodes.map((c) => this.issueJson(c)), pageInfo: { ...PAGE, hasNextPage: end < all.length, endCursor: String(end) } },
          },
        });
      }
      case 'issue_relations': {
        const i = this.find(v.id);
        if (!i) return notFound('Issue');
        const nodes = (i.relations ?? []).map((r, k) => ({
          __typename: 'IssueRelation',
          id: `rel-${i.id}-${k}`,
          type: r.type,
          createdAt: TS,
          updatedAt: TS,
          archivedAt: null,
          issue: { id: i.id },
          relatedIssue: { id: r.relatedId },
        }));
        return ok({ issue: { __typename: 'Issue', relations: { __typename: 'IssueRelationConnection', nodes, pageInfo: PAGE } } });
      }
      case 'workflowState': {
        const s = this.states.find((x) => x.id === v.id);
        return s ? ok({ workflowState: this.stateJson(s) }) : notFound('WorkflowState');
      }
      case 'workflowStates': {
        const team = (v.filter as { team?: { id?: { eq?: string } } } | undefined)?.team?.id?.eq;
        const nodes = this.states.filter((s) => team === undefined || (s.teamId ?? 'team-1') === team).map((s) => this.stateJson(s));
        return ok({ workflowStates: { __typename: 'WorkflowStateConnection', nodes, pageInfo: PAGE } });
      }
      case 'updateIssue': {
        const issue = this.find(v.id);
        if (!issue) return notFound('Issue');
        const input = (v.input ?? {}) as { stateId?: string };
        if (input.stateId !== undefined) {
          const s = this.states.find((x) => x.id === input.stateId);
          if (!s || (s.teamId ?? 'team-1') !== (issue.teamId ?? 'team-1')) return notFound('WorkflowState');
          issue.stateId = s.id;
        }
        return ok({ issueUpdate: { __typename: 'IssuePayload', issue: { id: issue.id }, lastSyncId: this.requests.length, success: true } });
      }
      case 'createComment': {
        const input = (v.input ?? {}) as { id?: string; issueId?: string; body?: string };
        const issue = this.find(input.issueId);
        if (!issue) return notFound('Issue');
        if (input.id !== undefined && this.comments.some((c) => c.id === input.id)) {
          return {
            status: 200,
            body: { data: null, errors: [{ message: 'Entity already exists', extensions: { type: 'invalid input', userPresentableMessage: 'A comment with this id already exists.' } }] },
          };
        }
        const id = input.id ?? `comment-${this.comments.length + 1}`;
        this.comments.push({ id, issueId: issue.id, body: input.body ?? '', url: `https://linear.app/fake/issue/${issue.identifier}#comment-${id}` });
        return ok({ commentCreate: { __typename: 'CommentPayload', comment: { id }, lastSyncId: this.comments.length, success: true } });
      }
      case 'comment': {
        const c = this.comments.find((x) => x.id === v.id);
        if (!c) return notFound('Comment');
        return ok({
          comment: {
            __typename: 'Comment',
            id: c.id,
            body: c.body,
            url: c.url,
            createdAt: TS,
            updatedAt: TS,
            reactionData: [],
            reactions: [],
            issue: { id: c.issueId },
            issueId: c.issueId,
            quotedText: null,
            threadSummary: null,
          },
        });
      }
      default:
        return { status: 400, body: { errors: [{ message: `fake Linear does not answer operation ${name}`, extensions: { type: 'graphql error' } }] } };
    }
  }

  private find(id: unknown): FakeLinearIssue | undefined {
    return this.issues.find((i) => i.id === id || i.identifier === id);
  }

  private stateJson(s: FakeLinearState): Record<string, unknown> {
    return {
      __typename: 'WorkflowState',
      id: s.id,
      name: s.name,
      type: s.type,
      color: '#000000',
      position: s.position ?? this.states.indexOf(s),
      description: null,
      createdAt: TS,
      updatedAt: TS,
      archivedAt: null,
      team: { id: s.teamId ?? 'team-1' },
      inheritedFrom: null,
    };
  }

  private issueJson(i: FakeLinearIssue): Record<string, unknown> {
    return {
      __typename: 'Issue',
      id: i.id,
      identifier: i.identifier,
      title: i.title,
      number: Number(i.identifier.split('-')[1] ?? 0),
      estimate: i.estimate ?? null,
      url: `https://linear.app/fake/issue/${i.identifier}`,
      branchName: i.identifier.toLowerCase(),
      priority: 0,
      priorityLabel: 'No priority',
      prioritySortOrder: 0,
      sortOrder: 0,
      boardOrder: 0,
      customerTicketCount: 0,
      labelIds: [],
      previousIdentifiers: [],
      reactionData: [],
      reactions: [],
      createdAt: TS,
      updatedAt: TS,
      state: { id: i.stateId },
      team: { id: i.teamId ?? 'team-1' },
      parent: i.parentId ? { id: i.parentId } : null,
      sharedAccess: { __typename: 'IssueSharedAccess', isShared: false, sharedWithCount: 0, viewerHasOnlySharedAccess: false, disallowedIssueFields: [], sharedWithUsers: [] },
    };
  }
}

/** The operation name of a GraphQL document (`query issue(…)` → `issue`). */
export function operationName(query: string): string {
  return /\b(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? '(anonymous)';
}

const rateLimited: FakeResponse = { status: 429, headers: { 'retry-after': '30' }, body: { errors: [{ message: 'Rate limit exceeded', extensions: { type: 'ratelimited', code: 'RATELIMITED' } }] } };
const unavailable: FakeResponse = { status: 503, body: { errors: [{ message: 'Service unavailable' }] } };
const ok = (data: unknown): FakeResponse => ({ status: 200, body: { data } });
const notFound = (what: string): FakeResponse => ({
  status: 200,
  body: { data: null, errors: [{ message: `Entity not found: ${what}`, extensions: { type: 'invalid input', userPresentableMessage: `Could not find referenced ${what}.` } }] },
});
