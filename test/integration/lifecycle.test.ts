import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, testEnv, textOf, type Harness } from '../helpers/server.js';
import { FakeLinear } from '../fakes/linear.js';
import { parseConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { deliverTickets, onMerged, TICKETS_KIND, type TicketPayload } from '../../src/pipeline/lifecycle.js';

/**
 * The ticket lifecycle against the local fake Linear GraphQL server, reached by the real
 * LinearClient: claim → the team's started state, merge → its completed state with one comment,
 * through the outbox (failures kept and retried, nothing posted twice).
 */

const PLAN = {
  key: 'CAB-1290',
  title: 'Gateway rework',
  phases: [
    { id: 1, name: 'API', points: 3, tickets: ['CAB-1291'] },
    { id: 2, name: 'Storage', points: 3, tickets: ['CAB-1292', 'CAB-1293'] },
    { id: 3, name: 'UI', points: 2, tickets: ['CAB-1294'], deps: [1] },
    { id: 4, name: 'Docs', points: 1 },
  ],
};
const PR = { prUrl: 'https://github.com/acme/app/pull/42', prNumber: 42, mergeCommit: '0123456789abcdef0123456789abcdef01234567' };
const PERSONAS = ['chucky', 'oss_killer', 'archi', 'saul'] as const;
const reviews = PERSONAS.map((persona) => ({ persona, score: 9, rationale: `${persona} rationale`, concerns: [], adjustments: [] }));

interface Claim {
  claimed: boolean;
  token: string;
  phase: { mega: string; id: number; tickets: string[] };
  tickets?: { status: string; reason?: string };
  message: string;
}

let linear: FakeLinear;
let env: NodeJS.ProcessEnv;
let h: Harness;
let config: unknown;

async function start(cfg: unknown = {}, withKey = true): Promise<void> {
  config = cfg;
  env = testEnv(withKey ? { LINEAR_API_KEY: linear.apiKey, FACTORY_LINEAR_API_URL: linear.apiUrl } : { FACTORY_LINEAR_API_URL: linear.apiUrl });
  h = await harness({ env, config: cfg });
}

/** The service context a merge (the MERGE stream's merge_phase) hands onMerged. */
const ctx = () => ({ store: h.store, config: parseConfig(config), clock: h.clock.fn, env, logger: silentLogger });
const stateOf = (identifier: string) => linear.states.find((s) => s.id === linear.issues.find((i) => i.identifier === identifier)?.stateId)?.name;
const pending = () => h.store.outbox.list<TicketPayload>(TICKETS_KIND);
/** The background delivery is over: nothing in flight, nothing queued that was not tried. */
const idle = () => vi.waitFor(async () => expect(await h.store.sql.prepare('SELECT count(*) AS n FROM outbox WHERE locked_until > 0 OR attempts = 0').get()).toEqual({ n: 0 }));

beforeEach(async () => {
  linear = await new FakeLinear().start();
  // Named unusually, positioned out of order: the started state is found by type, not by name.
  linear.states = [
    { id: 'st-backlog', name: 'Icebox', type: 'backlog', position: 0 },
    { id: 'st-todo', name: 'Todo', type: 'unstarted', position: 1 },
    { id: 'st-review', name: 'Review', type: 'started', position: 3 },
    { id: 'st-doing', name: 'Doing', type: 'started', position: 2 },
    { id: 'st-shipped', name: 'Shipped', type: 'completed', position: 4 },
    { id: 'st-released', name: 'Released', type: 'completed', position: 5 },
    { id: 'st-other', name: 'Doing', type: 'started', teamId: 'team-2' },
  ];
  linear.issues = ['CAB-1291', 'CAB-1292', 'CAB-1293', 'CAB-1294'].map((identifier) => ({ id: `u-${identifier}`, identifier, title: identifier, stateId: 'st-todo' }));
});

afterEach(async () => {
  await h.close();
  await linear.stop();
});

describe('claim → started', () => {
  it('a claim moves its tickets to the team started state found by type ("Doing"), and says it was queued', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const raw = await a.raw('claim_phase', { mega: 'CAB-1290', phase: 2 });
    const c = raw.structuredContent as unknown as Claim;
    expect(c).toMatchObject({ claimed: true, tickets: { status: 'queued' } });
    expect(textOf(raw).match(/Linear/g)).toHaveLength(1);
    await vi.waitFor(() => expect([stateOf('CAB-1292'), stateOf('CAB-1293')]).toEqual(['Doing', 'Doing']));
    await idle();
    expect(await pending()).toEqual([]);
    const moves = linear.operations().filter((o) => o.name === 'updateIssue');
    expect(moves.map((o) => o.variables)).toEqual([
      { id: 'u-CAB-1292', input: { stateId: 'st-doing' } },
      { id: 'u-CAB-1293', input: { stateId: 'st-doing' } },
    ]);
    // The team's workflow is read once per process, not once per ticket.
    expect(linear.operations().filter((o) => o.name === 'workflowStates')).toHaveLength(1);
    expect(linear.operations().find((o) => o.name === 'workflowStates')?.variables).toMatchObject({ filter: { team: { id: { eq: 'team-1' } } } });
    const log = await h.store.sql.prepare<[], { message: string }>("SELECT message FROM operations WHERE kind = 'linear' ORDER BY seq").all();
    expect(log.map((l) => l.message)).toEqual(['CAB-1292 moved to Doing from Todo in Linear', 'CAB-1293 moved to Doing from Todo in Linear']);
  });

  it('claim-next and the claim chained by complete_phase move their tickets too; a phase without tickets says nothing', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<Claim>('claim_phase', {});
    expect(c1.phase.id).toBe(1);
    await vi.waitFor(() => expect(stateOf('CAB-1291')).toBe('Doing'));
    await idle();
    const done = await a.call<{ next: Claim }>('complete_phase', { mega: 'CAB-1290', phase: 1, token: c1.token, chain: true });
    expect(done.next).toMatchObject({ claimed: true, phase: { id: 2 }, tickets: { status: 'queued' } });
    await vi.waitFor(() => expect([stateOf('CAB-1292'), stateOf('CAB-1293')]).toEqual(['Doing', 'Doing']));
    await idle();
    const c4 = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 4 });
    expect(c4.claimed).toBe(true);
    expect(c4.tickets).toBeUndefined();
    expect(c4.message).not.toMatch(/Linear/);
  });

  it('a ticket already started or done is left where it is (a retry of the move changes nothing)', async () => {
    await start();
    (linear.issues[0] as { stateId: string }).stateId = 'st-review';
    (linear.issues[1] as { stateId: string }).stateId = 'st-shipped';
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 1 });
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 2 });
    await vi.waitFor(() => expect(stateOf('CAB-1293')).toBe('Doing'));
    await idle();
    expect([stateOf('CAB-1291'), stateOf('CAB-1292')]).toEqual(['Review', 'Shipped']);
    expect(
      linear
        .operations()
        .filter((o) => o.name === 'updateIssue')
        .map((o) => o.variables.id),
    ).toEqual(['u-CAB-1293']);
    // The owner's retried claim (its answer lost) queues the move again: delivered, nothing changes.
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 2 });
    await idle();
    expect(await pending()).toEqual([]);
    expect(linear.operations().filter((o) => o.name === 'updateIssue')).toHaveLength(1);
  });
});

describe('merge → completed, with one comment', () => {
  it('moves the tickets to the completed state and comments once with the PR and the council report', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const council = await a.call<{ council_id: number; posted: { ok: boolean; url: string } }>('run_council', {
      subject: { title: 'Storage', description: 'Move storage behind the gateway.', mega: 'CAB-1290', phase: 2, ticket: 'CAB-1292' },
      reviews,
    });
    expect(council.posted.ok).toBe(true);
    const claim = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 2 });
    await idle();
    const before = linear.comments.length;

    const m = await onMerged(ctx(), claim.phase, PR);
    expect(m.tickets).toEqual({ status: 'queued' });
    expect(m.message).toBe('; Linear: CAB-1292, CAB-1293 queued to move to completed');
    await m.delivery;
    expect([stateOf('CAB-1292'), stateOf('CAB-1293')]).toEqual(['Shipped', 'Shipped']);
    const comments = linear.comments.slice(before);
    expect(comments.map((c) => c.issueId)).toEqual(['u-CAB-1292', 'u-CAB-1293']);
    for (const c of comments) {
      expect(c.body).toContain('[PR #42](https://github.com/acme/app/pull/42)');
      expect(c.body).toContain('`0123456789ab`');
      expect(c.body).toContain(`[report #${council.council_id}](${council.posted.url})`);
      expect(c.body).toContain('GO');
    }
    expect(await pending()).toEqual([]);

    // The merge hook called again for the same PR (a retried merge_phase): no second comment.
    await (
      await onMerged(ctx(), claim.phase, PR)
    ).delivery;
    expect(linear.comments.slice(before)).toHaveLength(2);
    expect(await pending()).toEqual([]);
  });

  it('a phase without a council gets a comment without a council line', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const claim = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    await idle();
    await (
      await onMerged(ctx(), claim.phase, { ...PR, mergeCommit: null })
    ).delivery;
    expect(stateOf('CAB-1291')).toBe('Shipped');
    expect(linear.comments).toHaveLength(1);
    expect(linear.comments[0]?.body).toContain('Merged: [PR #42](https://github.com/acme/app/pull/42) — phase CAB-1290/1.');
    expect(linear.comments[0]?.body).not.toContain('Council');
  });
});

describe('failures are kept and retried, never lost, never doubled', () => {
  it('Linear failing the first requests: the claim succeeds, the update waits and is delivered later', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    linear.failNext(2);
    const c = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 2 });
    expect(c).toMatchObject({ claimed: true, tickets: { status: 'queued' } });
    await idle();
    expect((await pending()).map((i) => [i.key, i.payload.target, i.attempts])).toEqual([
      ['CAB-1292', 'started', 1],
      ['CAB-1293', 'started', 1],
    ]);
    expect((await pending())[0]?.last_error).toMatch(/^Linear error \(HTTP 503\): Service unavailable$/);
    expect(stateOf('CAB-1292')).toBe('Todo');

    // Before the backoff nothing is tried again; after it, everything is delivered.
    const early = await deliverTickets(ctx());
    expect(early.delivered).toEqual([]);
    h.clock.advance(61_000);
    const later = await deliverTickets(ctx());
    expect(later.delivered.map((d) => d.ticket)).toEqual(['CAB-1292', 'CAB-1293']);
    expect([stateOf('CAB-1292'), stateOf('CAB-1293')]).toEqual(['Doing', 'Doing']);
    expect(await pending()).toEqual([]);
  });

  it('a comment Linear created but whose answer was lost is not posted again', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const claim = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    await idle();
    // The create is carried out, its answer fails; then the read of the comment fails too: the delivery fails.
    linear.failNext(2, { operations: ['createComment', 'comment'], applied: true });
    await (
      await onMerged(ctx(), claim.phase, PR)
    ).delivery;
    expect(linear.comments).toHaveLength(1);
    expect((await pending()).map((i) => [i.key, i.attempts, i.payload.comments.length])).toEqual([['CAB-1291', 1, 1]]);

    h.clock.advance(61_000);
    const r = await deliverTickets(ctx());
    expect(r.failed).toEqual([]);
    expect(r.delivered[0]?.detail).toContain(`comment ${linear.comments[0]?.url}`);
    expect(linear.comments).toHaveLength(1);
    expect(stateOf('CAB-1291')).toBe('Shipped');
    expect(await pending()).toEqual([]);
  });

  it('a claim while the merge of the same ticket still waits does not undo the completion', async () => {
    await start();
    const a = await h.connect();
    await a.call('plan_mega', { ...PLAN, phases: [...PLAN.phases, { id: 5, name: 'Shared', tickets: ['CAB-1291'] }] });
    const claim = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    await idle();
    linear.failNext(2); // the merge's delivery fails, then the one the claim starts
    await (
      await onMerged(ctx(), claim.phase, PR)
    ).delivery;
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 5 });
    await idle();
    expect((await pending()).map((i) => [i.key, i.payload.target, i.payload.comments.length])).toEqual([['CAB-1291', 'completed', 1]]);
    h.clock.advance(3600_000);
    await deliverTickets(ctx());
    expect(stateOf('CAB-1291')).toBe('Shipped');
    expect(linear.comments).toHaveLength(1);
  });
});

describe('without LINEAR_API_KEY, and configured states', () => {
  it('without a key the claim succeeds and says the tickets were not updated; nothing is queued or sent', async () => {
    await start({}, false);
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const raw = await a.raw('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(raw.structuredContent).toMatchObject({ claimed: true, tickets: { status: 'not_updated', reason: 'LINEAR_API_KEY not set' } });
    expect(textOf(raw).match(/LINEAR_API_KEY not set/g)).toHaveLength(1);
    const m = await onMerged(ctx(), (raw.structuredContent as unknown as Claim).phase, PR);
    expect(m.tickets).toEqual({ status: 'not_updated', reason: 'LINEAR_API_KEY not set' });
    await m.delivery;
    expect(await pending()).toEqual([]);
    expect(linear.requests).toHaveLength(0);
  });

  it('linear.lifecycle false: no field, no request', async () => {
    await start({ linear: { lifecycle: false } });
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(c.claimed).toBe(true);
    expect(c.tickets).toBeUndefined();
    expect(await pending()).toEqual([]);
    expect(linear.requests).toHaveLength(0);
  });

  it('linear.states names the states (by name or id) instead of the type lookup', async () => {
    await start({ linear: { states: { started: 'review', completed: 'st-released' } } });
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    await vi.waitFor(() => expect(stateOf('CAB-1291')).toBe('Review'));
    await idle();
    await (
      await onMerged(ctx(), c.phase, PR)
    ).delivery;
    expect(stateOf('CAB-1291')).toBe('Released');
  });

  it('a configured state the team does not have is kept with an error naming it', async () => {
    await start({ linear: { states: { started: 'Hacking' } } });
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<Claim>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(c.claimed).toBe(true);
    await idle();
    expect((await pending())[0]?.last_error).toMatch(/no workflow state named "Hacking" \(linear\.states\.started; it has Icebox, Todo, Review, Doing, Shipped, Released\)/);
    expect(stateOf('CAB-1291')).toBe('Todo');
  });

  it('a bad linear.states value is a config error naming the key', async () => {
    expect(() => parseConfig({ linear: { states: { begun: 'Doing' } } })).toThrow(/linear\.states.*begun|begun.*linear\.states/s);
    expect(() => parseConfig({ linear: { states: { started: '' } } })).toThrow(/linear\.states\.started/);
  });
});
