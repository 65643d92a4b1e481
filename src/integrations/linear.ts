import { LinearClient, LinearError, LinearErrorType, RatelimitedLinearError } from '@linear/sdk';
import type { LinearChild, LinearMega } from '../phases/linear-plan.js';

/**
 * The Linear client. The key comes from the environment only (LINEAR_API_KEY); the API URL from
 * FACTORY_LINEAR_API_URL (tests point it at a local fake). Returns null without a key, and
 * callers answer with NO_LINEAR_KEY.
 */
export function linearClient(env: NodeJS.ProcessEnv): LinearClient | null {
  const apiKey = env.LINEAR_API_KEY;
  if (!apiKey) return null;
  return new LinearClient({ apiKey, ...(env.FACTORY_LINEAR_API_URL ? { apiUrl: env.FACTORY_LINEAR_API_URL } : {}) });
}

export const NO_LINEAR_KEY = 'LINEAR_API_KEY is not set: export a Linear API key to post council reports and sync plans from Linear';

export type LinearFailureKind = 'auth' | 'rate_limited' | 'not_found' | 'network' | 'error';

export interface LinearFailure {
  kind: LinearFailureKind;
  message: string;
  /** When Linear said how long to wait (rate limit). */
  retry_after_ms?: number;
}

/** Turns whatever the SDK (or fetch) threw into a short, secret-free description. */
export function describeLinearError(e: unknown): LinearFailure {
  if (e instanceof RatelimitedLinearError) {
    const after = typeof e.retryAfter === 'number' && Number.isFinite(e.retryAfter) ? e.retryAfter * 1000 : undefined;
    return { kind: 'rate_limited', message: `Linear rate limit reached${after ? `; retry after ${Math.ceil(after / 1000)} s` : ''}`, ...(after ? { retry_after_ms: after } : {}) };
  }
  if (e instanceof LinearError && e.status === undefined && e.raw instanceof TypeError) {
    // fetch itself failed (connection refused, DNS, TLS): the SDK wraps it without a status
    const cause = (e.raw as { cause?: { code?: string } }).cause?.code;
    return { kind: 'network', message: `could not reach Linear: ${firstLine(e.raw.message)}${cause ? ` (${cause})` : ''}` };
  }
  if (e instanceof LinearError) {
    const status = e.status ? ` (HTTP ${e.status})` : '';
    if (e.type === LinearErrorType.AuthenticationError || e.type === LinearErrorType.Forbidden || e.status === 401) {
      return { kind: 'auth', message: `Linear refused the API key${status}: check LINEAR_API_KEY` };
    }
    if (e.type === LinearErrorType.NetworkError || e.type === LinearErrorType.InternalError) return { kind: 'network', message: `Linear is unavailable${status}: ${firstLine(e.message)}` };
    if (/not found|entity not found/i.test(e.message)) return { kind: 'not_found', message: `Linear: ${firstLine(e.message)}` };
    return { kind: 'error', message: `Linear error${status}: ${firstLine(e.message)}` };
  }
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return { kind: 'network', message: `could not reach Linear: ${firstLine(err?.message ?? String(e))}${cause ? ` (${cause})` : ''}` };
}

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').slice(0, 300);
}

/** Posts `body` as a comment on the issue `ticket` (an identifier such as CAB-123); returns the comment's URL. */
export async function postComment(client: LinearClient, ticket: string, body: string): Promise<{ id: string; url: string }> {
  const issue = await client.issue(ticket);
  const payload = await client.createComment({ issueId: issue.id, body });
  const id = payload.commentId;
  if (!payload.success || !id) throw new Error(`Linear did not create the comment on ${ticket}`);
  const comment = await client.comment({ id });
  return { id, url: comment.url };
}

/**
 * Reads a MEGA issue and its sub-issues: identifier, title, estimate, workflow state type and
 * outgoing relations (`blocks`, …) of each child. Workflow states are fetched once per state.
 */
export async function fetchMega(client: LinearClient, key: string): Promise<LinearMega> {
  const mega = await client.issue(key);
  const conn = await mega.children({ first: 100 });
  while (conn.pageInfo.hasNextPage) await conn.fetchNext();
  const states = new Map<string, Promise<{ type: string; name: string }>>();
  const stateOf = (id: string | undefined) => {
    if (!id) return Promise.resolve(null);
    let p = states.get(id);
    if (!p) {
      p = client.workflowState(id).then((s) => ({ type: s.type, name: s.name }));
      states.set(id, p);
    }
    return p;
  };
  const children: LinearChild[] = [];
  for (const c of conn.nodes) {
    const rel = await c.relations({ first: 100 });
    while (rel.pageInfo.hasNextPage) await rel.fetchNext();
    const state = await stateOf(c.stateId);
    children.push({
      uuid: c.id,
      identifier: c.identifier,
      title: c.title,
      estimate: c.estimate ?? null,
      state_type: state?.type ?? null,
      state_name: state?.name ?? null,
      relations: rel.nodes.map((r) => ({ type: r.type, related: r.relatedIssueId ?? '' })).filter((r) => r.related),
    });
  }
  return { uuid: mega.id, identifier: mega.identifier, title: mega.title, url: mega.url, children };
}

/** A workflow state of a team: its `type` (triage, backlog, unstarted, started, completed, canceled) says what it means, whatever its name. */
export interface LinearState {
  id: string;
  name: string;
  type: string;
  position: number;
}

// The team's workflow, per process: it changes rarely, and every claim and merge would ask again.
const teamStatesCache = new Map<string, Promise<LinearState[]>>();

/**
 * The workflow states of a team (by API endpoint and team), fetched once per process; `fresh`
 * fetches again (after a failure, or a state the cache does not know). A failed fetch is not kept.
 */
export function teamStates(client: LinearClient, endpoint: string, teamId: string, fresh = false): Promise<LinearState[]> {
  const key = `${endpoint}|${teamId}`;
  let p = fresh ? undefined : teamStatesCache.get(key);
  if (!p) {
    p = (async () => {
      const conn = await client.workflowStates({ filter: { team: { id: { eq: teamId } } }, first: 100 });
      while (conn.pageInfo.hasNextPage) await conn.fetchNext();
      return conn.nodes.map((s) => ({ id: s.id, name: s.name, type: s.type, position: s.position }));
    })();
    p.catch(() => teamStatesCache.delete(key));
    teamStatesCache.set(key, p);
  }
  return p;
}

/** Drops a team's cached workflow: the next delivery reads it again. */
export function forgetTeamStates(endpoint: string, teamId: string): void {
  teamStatesCache.delete(`${endpoint}|${teamId}`);
}

/** An issue's uuid, team and current state (by identifier such as CAB-123, or uuid). */
export async function issueState(client: LinearClient, ticket: string): Promise<{ id: string; identifier: string; teamId: string | undefined; stateId: string | undefined }> {
  const issue = await client.issue(ticket);
  return { id: issue.id, identifier: issue.identifier, teamId: issue.teamId, stateId: issue.stateId };
}

export async function moveIssue(client: LinearClient, issueId: string, stateId: string): Promise<void> {
  const payload = await client.updateIssue(issueId, { stateId });
  if (!payload.success) throw new Error(`Linear did not move issue ${issueId}`);
}

/**
 * Creates a comment with a fixed id, once: when the create fails (or its answer was lost) and the
 * comment with that id exists, it was posted — a retry never posts it twice. Returns its URL.
 */
export async function commentOnce(client: LinearClient, c: { id: string; issueId: string; body: string }): Promise<string> {
  try {
    const payload = await client.createComment({ id: c.id, issueId: c.issueId, body: c.body });
    if (!payload.success) throw new Error(`Linear did not create the comment on ${c.issueId}`);
  } catch (e) {
    const existing = await client.comment({ id: c.id }).catch(() => null);
    if (!existing) throw e;
    return existing.url;
  }
  return (await client.comment({ id: c.id })).url;
}
