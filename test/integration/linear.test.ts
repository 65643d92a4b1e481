import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, testEnv, type Harness } from '../helpers/server.js';
import { FakeLinear } from '../fakes/linear.js';
import { retryPosts } from '../../src/council/service.js';
import { silentLogger } from '../../src/core/logger.js';

const PERSONA_IDS = ['chucky', 'oss_killer', 'archi', 'saul'] as const;
const reviews = (score: number) => PERSONA_IDS.map((persona) => ({ persona, score, rationale: `${persona} rationale`, concerns: [], adjustments: [] }));
const subject = (ticket: string) => ({ title: 'Gateway', description: 'Move routes behind the gateway.', points: 8, ticket });

interface Posted {
  council_id: number;
  posted: { ok: boolean; url?: string; reason?: string; message: string };
}

let h: Harness;
let linear: FakeLinear;
/** The servers' environment (ctx.env): a test changes the key or the URL here, never in process.env. */
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  linear = await new FakeLinear().start();
  linear.states = [
    { id: 'st-todo', name: 'Todo', type: 'unstarted' },
    { id: 'st-done', name: 'Done', type: 'completed' },
  ];
  linear.issues = [
    { id: 'u-mega', identifier: 'CAB-1290', title: 'Gateway rework', stateId: 'st-todo' },
    { id: 'u-api', identifier: 'CAB-1291', title: 'API layer', estimate: 5, stateId: 'st-done', parentId: 'u-mega', relations: [{ type: 'blocks', relatedId: 'u-gw' }] },
    {
      id: 'u-gw',
      identifier: 'CAB-1292',
      title: 'Gateway routes',
      estimate: 8,
      stateId: 'st-todo',
      parentId: 'u-mega',
      relations: [
        { type: 'blocks', relatedId: 'u-ui' },
        { type: 'related', relatedId: 'u-store' },
      ],
    },
    { id: 'u-store', identifier: 'CAB-1293', title: 'Storage', estimate: 3, stateId: 'st-todo', parentId: 'u-mega' },
    { id: 'u-ui', identifier: 'CAB-1294', title: 'UI', stateId: 'st-todo', parentId: 'u-mega' },
  ];
  env = testEnv({ LINEAR_API_KEY: linear.apiKey, FACTORY_LINEAR_API_URL: linear.apiUrl });
  h = await harness({ env });
});

afterEach(async () => {
  await h.close();
  await linear.stop();
});

describe('council reports on Linear', () => {
  it('posts the report as a comment on the ticket and returns its URL', async () => {
    const a = await h.connect();
    const r = await a.call<Posted>('run_council', { subject: subject('CAB-1292'), reviews: reviews(9) });
    expect(r.posted).toMatchObject({ ok: true, url: 'https://linear.app/fake/issue/CAB-1292#comment-comment-1' });
    const ops = linear.operations();
    expect(ops.map((o) => o.name)).toEqual(['issue', 'createComment', 'comment']);
    expect(ops[0]).toMatchObject({ variables: { id: 'CAB-1292' }, authorization: linear.apiKey });
    expect(ops[1]?.variables).toMatchObject({ input: { issueId: 'u-gw' } });
    expect(linear.comments[0]?.body).toContain(`## Council #${r.council_id}: Gateway`);
    expect(linear.comments[0]?.body).toContain('**Verdict: GO**');
    expect(linear.comments[0]?.body).toContain('**Self-reviewed:**'); // the caller wrote every review
    expect(await h.store.councils.get(r.council_id)).toMatchObject({ comment_url: r.posted.url, post_pending: false });
    const res = await a.client.readResource({ uri: `factory://council/${r.council_id}` });
    expect((res.contents[0] as { text: string }).text).toContain(`Posted to Linear: ${r.posted.url}`);
  });

  it('a council decided without LINEAR_API_KEY is kept and posted once the key is set', async () => {
    const a = await h.connect();
    delete env.LINEAR_API_KEY;
    const r1 = await a.call<Posted>('run_council', { subject: subject('CAB-1293'), reviews: reviews(9) });
    expect(r1.posted).toMatchObject({ ok: false, reason: 'no_linear_key' });
    expect(await h.store.councils.pendingPosts()).toBe(1);
    expect(linear.operations()).toHaveLength(0);

    env.LINEAR_API_KEY = linear.apiKey;
    const r2 = await a.call<Posted>('run_council', { subject: subject('CAB-1292'), reviews: reviews(9) });
    expect(r2.posted.ok).toBe(true);
    expect(await h.store.councils.pendingPosts()).toBe(0);
    expect((await h.store.councils.get(r1.council_id))?.comment_url).toContain('CAB-1293');
  });

  it('a 401 is a clear result; the report waits in the outbox and goes out with the next council', async () => {
    const a = await h.connect();
    env.LINEAR_API_KEY = 'lin_api_wrong';
    const r1 = await a.call<Posted>('run_council', { subject: subject('CAB-1291'), reviews: reviews(9) });
    expect(r1.posted).toMatchObject({ ok: false, reason: 'auth' });
    expect(r1.posted.message).toContain('LINEAR_API_KEY');
    expect(r1.posted.message).not.toContain('lin_api_wrong');
    expect(await h.store.councils.pendingPosts()).toBe(1);
    expect(linear.comments).toHaveLength(0);

    env.LINEAR_API_KEY = linear.apiKey;
    const r2 = await a.call<Posted>('run_council', { subject: subject('CAB-1292'), reviews: reviews(7) });
    expect(r2.posted.ok).toBe(true);
    expect(await h.store.councils.pendingPosts()).toBe(0);
    expect(linear.comments.map((c) => c.issueId).sort()).toEqual(['u-api', 'u-gw']);
    expect((await h.store.councils.get(r1.council_id))?.comment_url).toContain('CAB-1291');
  });

  it('a rate limit and a network failure are clear results; a forced retry delivers later', async () => {
    const a = await h.connect();
    linear.failWith = 'ratelimit';
    const r1 = await a.call<Posted>('run_council', { subject: subject('CAB-1291'), reviews: reviews(6) });
    expect(r1.posted).toMatchObject({ ok: false, reason: 'rate_limited' });
    expect(r1.posted.message).toContain('retry after 30 s');

    env.FACTORY_LINEAR_API_URL = 'http://127.0.0.1:1/graphql';
    const r2 = await a.call<Posted>('run_council', { subject: subject('CAB-1292'), reviews: reviews(6) });
    expect(r2.posted).toMatchObject({ ok: false, reason: 'network' });
    expect(await h.store.councils.pendingPosts()).toBe(2);

    // not due yet (backoff): a plain retry posts nothing; --retry (force) posts both
    env.FACTORY_LINEAR_API_URL = linear.apiUrl;
    linear.failWith = null;
    const deps = { store: h.store, config: a.server.ctx.config, root: h.dir, clock: h.clock.fn, logger: silentLogger, env }; // the CLI's context: no session
    expect((await retryPosts(deps)).posted).toHaveLength(0);
    const forced = await retryPosts(deps, { force: true });
    expect(forced.posted.map((p) => p.council)).toEqual([r1.council_id, r2.council_id]);
    expect(forced.pending).toBe(0);
    expect(linear.comments).toHaveLength(2);
  });
});

describe('sync_plan', () => {
  it('reads the MEGA and its children into the plan: estimates, done states, blocks as deps', async () => {
    linear.pageSize = 2; // three pages of children
    const a = await h.connect();
    const r = await a.call<{ synced: boolean; mega: string; phases: number; done: number; ready: string[]; plan_markdown: string }>('sync_plan', { key: 'CAB-1290' });
    expect(r).toMatchObject({ synced: true, mega: 'CAB-1290', phases: 4, done: 1 });
    expect(r.ready).toEqual(['CAB-1292', 'CAB-1293']);
    const [board] = await h.store.phases.board('CAB-1290');
    expect(board?.source).toBe('https://linear.app/fake/issue/CAB-1290');
    expect(board?.phases.map((p) => [p.id, p.points, p.status, p.deps])).toEqual([
      ['CAB-1291', 5, 'done', []],
      ['CAB-1292', 8, 'ready', ['CAB-1291']],
      ['CAB-1293', 3, 'ready', []],
      ['CAB-1294', null, 'blocked', ['CAB-1292']],
    ]);
    expect(r.plan_markdown).toContain('# CAB-1290: Gateway rework');
    expect(r.plan_markdown).toContain('- [x] **CAB-1291** API layer — 5 pts');
    expect(r.plan_markdown).toContain('- [ ] **CAB-1294** UI — after CAB-1292 · blocked');
    const names = linear.operations().map((o) => o.name);
    expect(names[0]).toBe('issue');
    expect(names.filter((n) => n === 'issue_children')).toHaveLength(2);
    expect(names.filter((n) => n === 'issue_relations')).toHaveLength(4);
    expect(names.filter((n) => n === 'workflowState')).toHaveLength(2); // one per distinct state
    // the 8-point phase from Linear is gated like any other
    expect(await a.call('claim_phase', { mega: 'CAB-1290', phase: 'CAB-1292' })).toMatchObject({ claimed: false, reason: 'council_required' });
  });

  it('answers clearly without a key, for an unknown issue, and on a 401', async () => {
    const a = await h.connect();
    delete env.LINEAR_API_KEY;
    expect(await a.call('sync_plan', { key: 'CAB-1290' })).toMatchObject({ synced: false, reason: 'no_linear_key' });
    env.LINEAR_API_KEY = linear.apiKey;
    const missing = await a.call<{ synced: boolean; message: string }>('sync_plan', { key: 'CAB-9' });
    expect(missing).toMatchObject({ synced: false, reason: 'not_found' });
    linear.failWith = 'auth';
    expect(await a.call('sync_plan', { key: 'CAB-1290' })).toMatchObject({ synced: false, reason: 'auth' });
    expect(await h.store.phases.board()).toHaveLength(0);
  });
});
