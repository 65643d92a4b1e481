import { FakeHttpServer, type FakeResponse, type RecordedRequest } from './http.js';

export interface FakeLinearIssue {
  id: string;
  identifier: string;
  title: string;
  estimate?: number | null;
  stateId: string;
  parentId?: string | null;
  /** Outgoing relations: type (`blocks`, `related`, …) and the other issue's id. */
  relations?: { type: string; relatedId: string }[];
}

export interface FakeLinearState {
  id: string;
  name: string;
  type: 'triage' | 'backlog' | 'unstarted' | 'started' | 'completed' | 'canceled';
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
 * documents: `issue`, `issue_children`, `issue_relations`, `workflowState`, `createComment`,
 * `comment`), reached by the real LinearClient through `apiUrl`. Every request is recorded.
 * Auth: the `authorization` header must equal `apiKey`, else Linear's authentication error.
 * `failWith` makes every request fail like Linear does (`auth`, `ratelimit`, `server`).
 */
export class FakeLinear extends FakeHttpServer {
  apiKey = 'lin_api_test';
  issues: FakeLinearIssue[] = [];
  states: FakeLinearState[] = [];
  comments: FakeLinearComment[] = [];
  failWith: 'auth' | 'ratelimit' | 'server' | null = null;
  /** Children per page, to exercise pagination. */
  pageSize = 50;

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
    if (this.failWith === 'ratelimit') {
      return { status: 429, headers: { 'retry-after': '30' }, body: { errors: [{ message: 'Rate limit exceeded', extensions: { type: 'ratelimited', code: 'RATELIMITED' } }] } };
    }
    if (this.failWith === 'server') return { status: 503, body: { errors: [{ message: 'Service unavailable' }] } };
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
        return s
          ? ok({
              workflowState: {
                __typename: 'WorkflowState',
                ...s,
                color: '#000000',
                position: 0,
                description: null,
                createdAt: TS,
                updatedAt: TS,
                archivedAt: null,
                team: { id: 'team-1' },
                inheritedFrom: null,
              },
            })
          : notFound('WorkflowState');
      }
      case 'createComment': {
        const input = (v.input ?? {}) as { issueId?: string; body?: string };
        const issue = this.find(input.issueId);
        if (!issue) return notFound('Issue');
        const id = `comment-${this.comments.length + 1}`;
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
      team: { id: 'team-1' },
      parent: i.parentId ? { id: i.parentId } : null,
      sharedAccess: { __typename: 'IssueSharedAccess', isShared: false, sharedWithCount: 0, viewerHasOnlySharedAccess: false, disallowedIssueFields: [], sharedWithUsers: [] },
    };
  }
}

/** The operation name of a GraphQL document (`query issue(…)` → `issue`). */
export function operationName(query: string): string {
  return /\b(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? '(anonymous)';
}

const ok = (data: unknown): FakeResponse => ({ status: 200, body: { data } });
const notFound = (what: string): FakeResponse => ({
  status: 200,
  body: { data: null, errors: [{ message: `Entity not found: ${what}`, extensions: { type: 'invalid input', userPresentableMessage: `Could not find referenced ${what}.` } }] },
});
