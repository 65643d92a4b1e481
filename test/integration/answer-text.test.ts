import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { useHarness, textOf, type Agent } from '../helpers/server.js';

/**
 * Many clients show the model only an answer's text. These agents read nothing else: every value
 * they pass on (a claim's token, a phase id, a checkpoint id, the claim a chain made, the claims a
 * resume adopted) is taken from the text of the answer before, over a real in-memory MCP client.
 */
const PLAN = {
  key: 'TXT-1',
  title: 'Text only',
  phases: [
    { id: 1, name: 'first', points: 2 },
    { id: 'two', name: 'second', points: 3, deps: [1] },
    { id: 3, name: 'third', points: 1 },
  ],
};

type Args = { mega: string; phase: string | number; token: string };

/** Every claim an answer's text hands on (`use {…} in heartbeat, …`), as the next call's arguments. */
function claimsIn(text: string): Args[] {
  return [...text.matchAll(/^use (\{.*\}) in heartbeat/gm)].map((m) => JSON.parse(m[1] as string) as Args);
}

async function text(agent: Agent, tool: string, args: Record<string, unknown>): Promise<{ text: string; result: CallToolResult }> {
  const result = await agent.raw(tool, args);
  expect(result.isError, textOf(result)).toBeFalsy();
  return { text: textOf(result), result };
}

const h = useHarness();

describe('the text of an answer carries what the next call needs', () => {
  it('claim → heartbeat → checkpoint → complete with chain → complete, from the text alone', async () => {
    const a = await h.connect();
    expect((await text(a, 'plan_mega', PLAN)).text).toMatch(/TXT-1: 3 phases; ready now: 1, 3/);

    const claim = await text(a, 'claim_phase', { mega: 'TXT-1', phase: 1 });
    const [held] = claimsIn(claim.text);
    const structured = claim.result.structuredContent as { token: string };
    expect(held).toEqual({ mega: 'TXT-1', phase: 1, token: structured.token });

    const beat = await text(a, 'heartbeat', held!);
    expect(beat.text).toContain((beat.result.structuredContent as { lease_expires_at: string }).lease_expires_at);

    const saved = await text(a, 'checkpoint', { ...held, progress: { done: ['a'], next: ['b'] } });
    const id = (saved.result.structuredContent as { checkpoint_id: number }).checkpoint_id;
    expect(saved.text).toContain(`checkpoint_id: ${id}`);

    // Completing 1 readies "two", first in plan order: the chain claims it, and the text hands its
    // claim on with the id as a string, as planned.
    const done = await text(a, 'complete_phase', { ...held, chain: true });
    const [next] = claimsIn(done.text);
    const chained = (done.result.structuredContent as { next: { token: string } }).next;
    expect(next).toEqual({ mega: 'TXT-1', phase: 'two', token: chained.token });
    const last = await text(a, 'complete_phase', { ...next, chain: true });
    const [after] = claimsIn(last.text);
    expect(after?.phase).toBe(3);
    const end = await text(a, 'complete_phase', { ...after, chain: true });
    expect(end.text).toMatch(/claimed: false, reason: no_ready_phase, remaining: 0/);
  });

  it('a refusal says its reason, and whose claim is in the way', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const [held] = claimsIn((await text(a, 'claim_phase', { mega: 'TXT-1', phase: 1 })).text);
    const owner = (await a.call<{ instance: string }>('session_start', {})).instance;

    expect((await text(b, 'claim_phase', { mega: 'TXT-1', phase: 1 })).text).toContain(`claimed: false, reason: already_claimed, owner: ${owner}`);
    expect((await text(b, 'claim_phase', { mega: 'TXT-1', phase: 'two' })).text).toContain('claimed: false, reason: deps_unmet');
    expect((await text(b, 'heartbeat', held!)).text).toContain(`ok: false, reason: not_owner, owner: ${owner}`);
    expect((await text(b, 'checkpoint', { ...held, progress: { done: [], next: [] } })).text).toContain('saved: false, reason: not_owner');
    expect((await text(b, 'release_phase', { ...held, reason: 'not mine' })).text).toContain('released: false, reason: not_owner');
    expect((await text(b, 'complete_phase', held!)).text).toContain('completed: false, reason: not_owner');
    expect((await text(a, 'heartbeat', { ...held, token: 'made-up' })).text).toMatch(/ok: false, reason: \w+/);
  });

  it('session_start {resume} gives the adopted claims their new tokens in the text', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('session_start', {});
    const old = claimsIn((await text(a, 'claim_phase', { mega: 'TXT-1', phase: 1 })).text)[0]!;
    await text(a, 'claim_phase', { mega: 'TXT-1', phase: 3 });
    await a.close(); // gone without session_end: its claims wait to be adopted

    const b = await h.connect();
    const start = await text(b, 'session_start', { resume: true });
    const adopted = claimsIn(start.text);
    const resumed = (start.result.structuredContent as { resumed: { phases: { id: unknown; token: string }[] }[] }).resumed.flatMap((r) => r.phases);
    expect(adopted.map((c) => c.phase).sort()).toEqual([1, 3]);
    expect(adopted.map((c) => c.token).sort()).toEqual(resumed.map((p) => p.token).sort());
    const first = adopted.find((c) => c.phase === 1)!;
    expect(first.token).not.toBe(old.token);
    expect((await text(b, 'complete_phase', first)).text).toMatch(/^completed TXT-1\/1/);
  });

  it('ids a later call or a person needs: memory entry, log seq, council id and verdict, classification refusal, sync_plan reason', async () => {
    const a = await h.connect();
    const mem = await text(a, 'memory', { op: 'append', section: 'decisions', text: 'use SQLite' });
    expect(mem.text).toContain(String((mem.result.structuredContent as { appended: number }).appended));
    const log = await text(a, 'log_operation', { kind: 'deploy', message: 'shipped' });
    expect(log.text).toContain(`#${(log.result.structuredContent as { seq: number }).seq}`);

    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 9, rationale: 'fine', concerns: [], adjustments: [] }));
    const council = await text(a, 'run_council', { subject: { title: 'x', description: 'y' }, reviews });
    const cid = (council.result.structuredContent as { council_id: number }).council_id;
    expect(council.text).toContain(`Council #${cid}`);
    expect(council.text).toContain('GO');

    await a.call('plan_mega', PLAN);
    const [held] = claimsIn((await text(a, 'claim_phase', { mega: 'TXT-1', phase: 1 })).text);
    const files = [{ path: 'README.md', additions: 1, deletions: 0 }];
    const refused = await text(a, 'classify_change', { files, mega: 'TXT-1', phase: 1, token: 'made-up' });
    expect(refused.text).toMatch(/stored: false, reason: \w+/);
    expect((await text(a, 'classify_change', { files, ...held })).text).toContain('stored with TXT-1/1');

    expect((await text(a, 'sync_plan', { key: 'TXT-2' })).text).toMatch(/synced: false, reason: \w+/);
  });
});
