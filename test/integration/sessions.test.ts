import { describe, expect, it } from 'vitest';
import { failSessionRefresh, useHarness, snapshot, textOf } from '../helpers/server.js';

const PLAN = {
  key: 'CAB-1290',
  title: 'Gateway rework',
  phases: [
    { id: 1, name: 'API', points: 5 },
    { id: 2, name: 'Storage', points: 3 },
    { id: 'ui', name: 'UI', points: 2, deps: [1, 2] },
  ],
};

interface Start {
  instance: string;
  crashed: { instance: string; why: string; last_checkpoint: { done: string[]; next: string[]; percent: number | null } | null; phases: { id: unknown; checkpoint: unknown }[] }[];
  crashed_total: number;
  resumed: { from: string; phases: { id: unknown; token: string; checkpoint: { percent: number } | null }[] }[];
  autonomy: number;
  kill_switch: boolean;
}

const h = useHarness();

describe('session_start, checkpoints and resume', () => {
  it('a failed lease refresh never throws away the answer it follows', async () => {
    const a = await h.connect();
    await a.call('memory', { op: 'append', section: 'status', text: 'kept' }); // the session now has a row
    // The refresh after the next call fails (as on a full disk); the answer must still arrive.
    const undo = await failSessionRefresh(h.store);
    h.clock.advance(2000);
    const r = await a.raw('memory', { op: 'read' });
    expect(r.isError).toBeFalsy();
    expect(textOf(r) + JSON.stringify(r.structuredContent)).toContain('kept');
    await undo();
  });

  it('names the agent and logs SESSION-START exactly once', async () => {
    const a = await h.connect({ name: 'claude-code' });
    const s = await a.call<Start>('session_start', { agent: 'claude-code' });
    await a.call('session_start', {});
    expect(s).toMatchObject({ crashed: [], crashed_total: 0, resumed: [], autonomy: 3, kill_switch: false });
    const starts = (await h.store.operations.recent(50)).filter((o) => o.kind === 'session_start' && o.instance === s.instance);
    expect(starts).toHaveLength(1);
    expect(starts[0]?.message).toMatch(/^SESSION-START /);
    expect((await h.store.sessions.get(s.instance))?.agent).toBe('claude-code');
  });

  it('a disconnected session is reported with its checkpoint and claims; resume adopts them and fences the old tokens', async () => {
    const a = await h.connect();
    const sa = await a.call<Start>('session_start', { agent: 'cursor' });
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const c2 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 2 });
    const cp = await a.call<{ saved: boolean; checkpoint_id: number }>('checkpoint', {
      mega: 'CAB-1290',
      phase: 1,
      token: c1.token,
      progress: { done: ['routes'], next: ['auth'], percent: 40, files: ['src/api.ts'] },
      note: 'half way',
    });
    expect(cp.saved).toBe(true);
    await a.close(); // no session_end

    const b = await h.connect();
    const sb = await b.call<Start>('session_start', { agent: 'codex' });
    expect(sb.crashed_total).toBe(1);
    const crashed = sb.crashed[0]!;
    expect(crashed).toMatchObject({ instance: sa.instance, why: 'disconnected', last_checkpoint: { done: ['routes'], next: ['auth'], percent: 40 } });
    expect(crashed.phases.map((p) => p.id)).toEqual([1, 2]);
    expect(crashed.phases[0]?.checkpoint).toMatchObject({ note: 'half way', files: ['src/api.ts'] });

    const boardRaw = await b.raw('board', {});
    const board = boardRaw.structuredContent as { megas: { phases: { id: unknown; checkpoint?: { percent: number } | null }[] }[] };
    expect(board.megas[0]?.phases[0]?.checkpoint).toMatchObject({ percent: 40 });
    expect(textOf(boardRaw)).toMatch(/claimed by t\d+ .* · 40%, next: auth/);

    const r = await b.call<Start>('session_start', { resume: sa.instance });
    expect(r.resumed).toHaveLength(1);
    expect(r.resumed[0]?.phases.map((p) => p.id)).toEqual([1, 2]);
    expect(r.resumed[0]?.phases[0]?.checkpoint).toMatchObject({ percent: 40 });
    expect(r.crashed_total).toBe(0);
    const [n1, n2] = r.resumed[0]!.phases;
    expect(n1!.token).not.toBe(c1.token);

    for (const old of [
      { phase: 1, token: c1.token },
      { phase: 2, token: c2.token },
    ]) {
      const late = await b.call<{ completed: boolean; reason: string }>('complete_phase', { mega: 'CAB-1290', ...old });
      expect(late).toMatchObject({ completed: false, reason: 'stale_token' });
    }
    const stale = await b.call<{ saved: boolean; reason: string }>('checkpoint', { mega: 'CAB-1290', phase: 1, token: c1.token, progress: { done: [], next: [] } });
    expect(stale).toMatchObject({ saved: false, reason: 'stale_token' });
    expect(await b.call('complete_phase', { mega: 'CAB-1290', phase: 1, token: n1!.token })).toMatchObject({ completed: true });
    expect(await b.call('complete_phase', { mega: 'CAB-1290', phase: 2, token: n2!.token })).toMatchObject({ completed: true });
    expect((await h.store.operations.recent(100)).some((o) => o.kind === 'resume' && (o.data as { from: string }).from === sa.instance)).toBe(true);

    // Adopted: never reported again; resuming it again is an input error.
    const c = await h.connect();
    expect((await c.call<Start>('session_start', {})).crashed_total).toBe(0);
    const again = await c.raw('session_start', { resume: sa.instance });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/^Invalid arguments for session_start: resume: /);
  });

  it('a connected session with a live lease is not reported', async () => {
    const a = await h.connect();
    await a.call('session_start', {});
    const b = await h.connect();
    expect((await b.call<Start>('session_start', {})).crashed).toEqual([]);
    h.clock.advance(7200 * 1000 + 1);
    const late = await b.call<Start>('session_start', {});
    expect(late.crashed.map((c) => c.why)).toEqual(['lease_passed']);
  });

  it('session_end logs SESSION-END and keeps or releases claims as asked', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const kept = await a.call<{ ended: boolean; kept: unknown[] }>('session_end', { summary: 'stopping for today' });
    expect(kept).toMatchObject({ ended: true, kept: [{ mega: 'CAB-1290', id: 1 }] });
    expect((await h.store.operations.recent(1))[0]?.message).toMatch(/^SESSION-END t\d+: stopping for today$/);

    const b = await h.connect();
    await b.call('claim_phase', { mega: 'CAB-1290', phase: 2 });
    const rel = await b.call<{ released: unknown[] }>('session_end', { release: true });
    expect(rel.released).toEqual([{ mega: 'CAB-1290', id: 2 }]);
    const board = await b.call<{ megas: { phases: { status: string }[] }[] }>('board', {});
    expect(board.megas[0]?.phases.map((p) => p.status)).toEqual(['claimed', 'ready', 'blocked']);
  });

  it('checkpoint with a phase but no token is an input error that writes nothing', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const before = await snapshot(h.store);
    const r = await a.raw('checkpoint', { mega: 'CAB-1290', phase: 1, progress: { done: [], next: [] } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('token:');
    expect(await snapshot(h.store)).toBe(before);
    const s = await a.call<{ saved: boolean }>('checkpoint', { progress: { done: ['read the code'], next: ['plan'] } });
    expect(s.saved).toBe(true);
  });
});

describe('memory, log_operation, record_usage', () => {
  it('appends and reads memory by section with author and time; factory://memory renders memory.md', async () => {
    const a = await h.connect();
    await a.call('session_start', { agent: 'claude-code' });
    await a.call('memory', { op: 'append', section: 'decisions', text: 'Use SQLite WAL' });
    await a.call('memory', { op: 'append', section: 'known_issues', text: 'Flaky e2e on CI' });
    const all = await a.call<{ entries: { section: string; text: string; author: string; at: string }[] }>('memory', { op: 'read' });
    expect(all.entries.map((e) => [e.section, e.text])).toEqual([
      ['decisions', 'Use SQLite WAL'],
      ['known_issues', 'Flaky e2e on CI'],
    ]);
    expect(all.entries[0]?.author).toMatch(/^claude-code \(t\d+\)$/);
    expect(all.entries[0]?.at).toBe(new Date(h.clock.now).toISOString());
    const md = await a.client.readResource({ uri: 'factory://memory' });
    const text = (md.contents[0] as { text: string }).text;
    expect(text).toContain('## Decisions\n\n- Use SQLite WAL — claude-code');
    expect(text).toContain('## Status\n\n_(none)_');
    expect((await h.store.operations.recent(5)).filter((o) => o.kind === 'memory')).toHaveLength(2);
    const bad = await a.raw('memory', { op: 'append', text: 'no section' });
    expect(textOf(bad)).toContain('section:');
  });

  it('log_operation appends to the chain but refuses server-written kinds', async () => {
    const a = await h.connect();
    const r = await a.call<{ seq: number }>('log_operation', { kind: 'test_run', message: 'unit tests green', data: { passed: 12 } });
    expect((await h.store.operations.recent(1))[0]).toMatchObject({ seq: r.seq, kind: 'test_run', data: { passed: 12 } });
    const forged = await a.raw('log_operation', { kind: 'session_end', message: 'fake' });
    expect(forged.isError).toBe(true);
    expect(textOf(forged)).toContain('kind:');
    expect((await h.store.operations.verify()).ok).toBe(true);
  });

  it('log_operation cannot forge entries the server writes (ack, council, classify, dod, resume)', async () => {
    const a = await h.connect();
    for (const kind of ['ack', 'council', 'classify', 'dod', 'resume']) {
      const r = await a.raw('log_operation', { kind, message: 'a human acknowledged rejected council #1' });
      expect(r.isError, kind).toBe(true);
      expect(textOf(r)).toMatch(/kind:/);
    }
  });
});

describe('resources', () => {
  it('lists memory, plan and operations; plan.md shows phases and progress', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    await a.call('checkpoint', { mega: 'CAB-1290', phase: 1, token: c.token, progress: { done: ['x'], next: ['write tests'], percent: 60 } });
    const list = await a.client.listResources();
    expect(list.resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['factory://memory', 'factory://plan', 'factory://operations', 'factory://board']));
    const plan = (await a.client.readResource({ uri: 'factory://plan' })).contents[0] as { text: string };
    expect(plan.text).toMatch(/\| 1 \| API \| 5 \| {2}\| {2}\| claimed \| t\d+ \| 60% next: write tests \|/);
    const ops = (await a.client.readResource({ uri: 'factory://operations' })).contents[0] as { text: string };
    expect(ops.text).toMatch(/^#1 .* session_start - SESSION-START/m);
    expect(ops.text).toMatch(/ checkpoint CAB-1290\/1 /);
  });
});
