import { createHash } from 'node:crypto';
import { actor, type ServiceContext } from '../core/context.js';
import { phaseKey } from '../core/ids.js';
import { drainOutbox } from '../core/outbox.js';
import { clip } from '../core/text.js';
import type { ClaimResult, PhaseRef } from '../phases/service.js';
import type * as LinearModule from '../integrations/linear.js';
import type { LinearState } from '../integrations/linear.js';

/**
 * The ticket lifecycle in Linear: a claimed phase's tickets move to their team's started state, a
 * merged phase's to its completed state with a comment linking the pull request and the council
 * report. Both go through the outbox: queued right after the claim (or merge) committed, delivered
 * outside any write transaction without the caller waiting, kept and retried with backoff when
 * Linear fails — on the next claim or merge, every minute in `factory-mcp http`, or by
 * `factory-mcp tickets --retry`. Idempotent: a ticket already in (or past) the state is left as it
 * is, and each merge comment has a fixed id, so a retry never posts it twice.
 *
 * The MERGE stream calls `onMerged` after a successful merge; the claim tools call `onClaimed`.
 */

export const TICKETS_KIND = 'linear_ticket';
const LOCK_MS = 60_000;
const DEFAULT_ENDPOINT = 'https://api.linear.app/graphql';

export type TicketTarget = 'started' | 'completed';

/** A comment to post once on a merged phase's ticket; `id` is fixed (see commentId) so a retry is recognised. */
export interface MergeComment {
  id: string;
  pr_url: string;
  pr_number: number;
  merge_commit: string | null;
}

/** What waits in the outbox for one ticket: the state it should reach and the comments still to post. */
export interface TicketPayload {
  ticket: string;
  target: TicketTarget;
  mega: string;
  phase: string;
  comments: MergeComment[];
}

/** The answer's `tickets` field: queued for Linear, or not updated and why. */
export interface TicketsNote {
  status: 'queued' | 'not_updated';
  reason?: string;
}

type DeliverDeps = Pick<ServiceContext, 'store' | 'config' | 'clock' | 'env' | 'session'>;
type Deps = DeliverDeps & Pick<ServiceContext, 'logger'>;
type PhaseTickets = Pick<PhaseRef, 'mega' | 'id' | 'tickets'>;

// @linear/sdk is large; load it on the first delivery, not at server start-up (and never without a key).
let linearModule: typeof LinearModule | undefined;
const linear = async (): Promise<typeof LinearModule> => (linearModule ??= await import('../integrations/linear.js'));

// ---------------------------------------------------------------- pure rules

/** Where a state type stands in a ticket's life: a ticket is never moved back down. */
const RANK: Record<string, number> = { triage: 0, backlog: 0, unstarted: 0, started: 1, completed: 2, canceled: 2 };

/**
 * The state a ticket should reach: the configured name or id when given (`linear.states`), else the
 * team's first state (by position) of that type — "Doing" is the started state when it is the team's.
 */
export function pickState(states: readonly LinearState[], target: TicketTarget, configured: string | undefined): LinearState | { error: string } {
  if (configured !== undefined) {
    const want = configured.toLowerCase();
    const s = states.find((x) => x.id === configured) ?? states.find((x) => x.name.toLowerCase() === want);
    return s ?? { error: `the team has no workflow state named ${JSON.stringify(configured)} (linear.states.${target}; it has ${states.map((x) => x.name).join(', ')})` };
  }
  const s = states.filter((x) => x.type === target).sort((a, b) => a.position - b.position)[0];
  return s ?? { error: `the team has no workflow state of type ${target}` };
}

/** Whether to move a ticket from `current` to `to`: not when it is there already, nor when it is as far along (started is not re-started, done is not re-opened). */
export function shouldMove(current: LinearState | undefined, to: LinearState, target: TicketTarget): boolean {
  if (!current) return true;
  if (current.id === to.id) return false;
  return (RANK[current.type] ?? 0) < RANK[target]!;
}

/** A UUID v4-shaped id fixed by the ticket and the pull request: the same merge comment always has the same id. */
export function commentId(ticket: string, prUrl: string): string {
  const h = createHash('sha256').update(`factory-mcp merge comment\n${ticket}\n${prUrl}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The merge comment: the pull request, the merge commit and the phase's council report (its Linear comment when posted). */
export function mergeCommentBody(p: { mega: string; phase: string }, c: MergeComment, council: { id: number; verdict: string; url: string | null } | null): string {
  const lines = [`Merged: [PR #${c.pr_number}](${c.pr_url})${c.merge_commit ? ` (commit \`${c.merge_commit.slice(0, 12)}\`)` : ''} — phase ${p.mega}/${p.phase}.`];
  if (council) lines.push(`Council: ${council.url ? `[report #${council.id}](${council.url})` : `report #${council.id}`} — ${council.verdict.toUpperCase()}.`);
  lines.push('', '_factory-mcp_');
  return lines.join('\n');
}

// ---------------------------------------------------------------- queue

/** Queues `target` for each ticket of a phase (and a comment per ticket on merge), then starts a delivery the caller need not wait for. */
async function queue(ctx: Deps, phase: PhaseTickets, target: TicketTarget, comment?: (ticket: string) => MergeComment): Promise<{ note?: TicketsNote; delivery: Promise<void> }> {
  const tickets = [...new Set(phase.tickets)];
  const none = Promise.resolve();
  if (!tickets.length || !ctx.config.linear.lifecycle) return { delivery: none };
  if (!ctx.env.LINEAR_API_KEY) return { note: { status: 'not_updated', reason: 'LINEAR_API_KEY not set' }, delivery: none };
  const id = phaseKey(phase.id);
  try {
    await ctx.store.tx(async () => {
      for (const ticket of tickets) {
        const c = comment?.(ticket);
        await ctx.store.outbox.put<TicketPayload>(
          TICKETS_KIND,
          ticket,
          (old) => ({
            ticket,
            // A completion still waiting is not undone by a later claim of another phase on the same ticket.
            target: old?.target === 'completed' ? 'completed' : target,
            mega: phase.mega,
            phase: id,
            comments: [...(old?.comments ?? []).filter((x) => x.id !== c?.id), ...(c ? [c] : [])],
          }),
          ctx.clock(),
        );
      }
    });
  } catch (e) {
    ctx.logger.warn(`Linear ticket updates not queued: ${(e as Error).message}`);
    return { note: { status: 'not_updated', reason: clip(`not queued: ${(e as Error).message}`, 200) }, delivery: none };
  }
  const delivery = deliverTickets(ctx, { limit: 10 }).then(
    () => undefined,
    // A CLI that closed its store meanwhile: what was not delivered stays queued, nothing to warn about.
    (e: unknown) => {
      if (!ctx.store.closed) ctx.logger.warn(`Linear ticket delivery failed: ${(e as Error).message}`);
    },
  );
  inFlight.add(delivery);
  void delivery.finally(() => inFlight.delete(delivery));
  return { note: { status: 'queued' }, delivery };
}

const inFlight = new Set<Promise<unknown>>();

/**
 * Waits, at most `ms`, for the deliveries this process started: a command about to close its store
 * and exit (the CLI's tool calls) calls it, so `factory-mcp claim` moves the ticket before it ends.
 * What is not delivered by then stays queued. Never rejects.
 */
export async function ticketsSettled(ms = 10_000): Promise<void> {
  if (!inFlight.size) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all([...inFlight]), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function noteText(note: TicketsNote | undefined, tickets: readonly string[], target: TicketTarget): string {
  if (!note) return '';
  const ids = [...new Set(tickets)].join(', ');
  return note.status === 'queued' ? `; Linear: ${ids} queued to move to ${target}` : `; Linear tickets not updated (${note.reason})`;
}

/**
 * After a claim committed (claim_phase, named or next, and complete_phase's chained claim): its
 * tickets are queued to move to the started state; the answer gets `tickets` and one phrase in its
 * message. Never throws, never waits for Linear. Adoption (session_start resume) does not call it.
 */
export async function onClaimed<T extends Pick<ClaimResult, 'claimed' | 'phase' | 'message' | 'tickets'>>(ctx: Deps, claim: T): Promise<T> {
  if (!claim.claimed || !claim.phase) return claim;
  const q = await queue(ctx, claim.phase, 'started');
  if (q.note) {
    claim.tickets = q.note;
    claim.message += noteText(q.note, claim.phase.tickets, 'started');
  }
  return claim;
}

/**
 * After a successful merge (merge_phase, `factory-mcp merge`): the phase's tickets are queued to
 * move to the completed state, each with one comment linking the pull request and the council
 * report. Call it once the merge is known (a second call for the same PR posts nothing twice).
 * Returns `tickets` for the answer (absent: the phase has no tickets or linear.lifecycle is off), a
 * phrase for its message, and the delivery, which never rejects: a tool does not wait for it; a
 * CLI about to exit may (what it does not deliver stays queued).
 */
export async function onMerged(
  ctx: Deps,
  phase: PhaseTickets,
  pr: { prUrl: string; prNumber: number; mergeCommit?: string | null },
): Promise<{ tickets?: TicketsNote; message: string; delivery: Promise<void> }> {
  const q = await queue(ctx, phase, 'completed', (ticket) => ({ id: commentId(ticket, pr.prUrl), pr_url: pr.prUrl, pr_number: pr.prNumber, merge_commit: pr.mergeCommit ?? null }));
  return { ...(q.note ? { tickets: q.note } : {}), message: noteText(q.note, phase.tickets, 'completed'), delivery: q.delivery };
}

// ---------------------------------------------------------------- deliver

export interface TicketsRetryResult {
  delivered: { ticket: string; detail: string }[];
  failed: { ticket: string; message: string }[];
  pending: number;
  message: string;
}

/** Delivers the queued ticket updates that are due (all with `force`); what fails stays queued with a backoff. */
export async function deliverTickets(ctx: DeliverDeps, opts: { limit?: number; force?: boolean } = {}): Promise<TicketsRetryResult> {
  const { store } = ctx;
  const before = await store.outbox.pending(TICKETS_KIND);
  if (before === 0) return { delivered: [], failed: [], pending: 0, message: 'no ticket update waits for Linear' };
  const L = await linear();
  const client = L.linearClient(ctx.env);
  if (!client) return { delivered: [], failed: [], pending: before, message: `${before} ticket update(s) wait for Linear: LINEAR_API_KEY is not set` };
  const endpoint = ctx.env.FACTORY_LINEAR_API_URL ?? DEFAULT_ENDPOINT;
  const r = await drainOutbox<TicketPayload, string>(
    store.outbox,
    TICKETS_KIND,
    ctx.clock,
    { ...opts, lockMs: LOCK_MS },
    async (item) => {
      const detail = await deliverOne(ctx, L, client, endpoint, item.payload);
      const op = { instance: await actor(ctx), kind: 'linear', mega: item.payload.mega, phase: item.payload.phase, message: detail, data: { ticket: item.key, target: item.payload.target } };
      await store.tx(() => store.operations.append(ctx.clock(), op));
      return detail;
    },
    (e) => {
      const f = L.describeLinearError(e);
      return { message: f.message, retryAfterMs: f.retry_after_ms ?? null };
    },
  );
  const out: TicketsRetryResult = {
    delivered: r.delivered.map((d) => ({ ticket: d.key, detail: d.result })),
    failed: r.failed.map((f) => ({ ticket: f.key, message: f.message })),
    pending: 0,
    message: '',
  };
  out.pending = await store.outbox.pending(TICKETS_KIND);
  out.message = `${out.delivered.length} ticket(s) updated in Linear, ${out.failed.length} failed, ${out.pending} still waiting`;
  return out;
}

/** One ticket: its team's states (cached per process), the move when it is not there yet, then each comment once. Returns what was done. */
async function deliverOne(ctx: DeliverDeps, L: typeof LinearModule, client: NonNullable<ReturnType<typeof LinearModule.linearClient>>, endpoint: string, p: TicketPayload): Promise<string> {
  const issue = await L.issueState(client, p.ticket);
  if (!issue.teamId) throw new Error(`${p.ticket} has no team in Linear`);
  let states = await L.teamStates(client, endpoint, issue.teamId);
  // A state the cache does not know: the team's workflow changed since it was read.
  if (issue.stateId && !states.some((s) => s.id === issue.stateId)) states = await L.teamStates(client, endpoint, issue.teamId, true);
  const to = pickState(states, p.target, ctx.config.linear.states[p.target]);
  if ('error' in to) throw new Error(`${p.ticket}: ${to.error}`);
  const current = states.find((s) => s.id === issue.stateId);
  const done: string[] = [];
  if (shouldMove(current, to, p.target)) {
    try {
      await L.moveIssue(client, issue.id, to.id);
    } catch (e) {
      L.forgetTeamStates(endpoint, issue.teamId); // the state may be gone: read the workflow again next time
      throw e;
    }
    done.push(`${p.ticket} moved to ${to.name}${current ? ` from ${current.name}` : ''} in Linear`);
  } else done.push(`${p.ticket} left in ${current?.name ?? to.name} in Linear (already ${p.target === 'started' ? 'started' : 'done'})`);
  if (p.comments.length) {
    const last = (await ctx.store.councils.gateCouncils(p.mega, p.phase)).at(-1);
    const c = last ? await ctx.store.councils.get(last.id) : undefined;
    const council = c ? { id: c.id, verdict: c.verdict, url: c.comment_url } : null;
    for (const m of p.comments) done.push(`comment ${await L.commentOnce(client, { id: m.id, issueId: issue.id, body: mergeCommentBody(p, m, council) })}`);
  }
  return done.join('; ');
}
