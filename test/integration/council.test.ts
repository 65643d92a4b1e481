import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CreateMessageRequestSchema, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { harness, snapshot, textOf, type Harness } from '../helpers/server.js';
import { selectTools } from '../../src/mcp/server.js';

const PERSONA_IDS = ['chucky', 'oss_killer', 'archi', 'saul'] as const;
const reviews = (scores: number[], adjustments: string[] = []) =>
  PERSONA_IDS.map((persona, i) => ({ persona, score: scores[i], rationale: `${persona} rationale`, concerns: [`${persona} concern`], adjustments: i === 0 ? adjustments : [] }));

const PLAN = {
  key: 'CAB-1290',
  title: 'Gateway rework',
  phases: [
    { id: 1, name: 'API + Gateway', points: 8, tickets: ['CAB-1350'] },
    { id: 2, name: 'Docs', points: 2 },
  ],
};
const SUBJECT = { title: 'API + Gateway', description: 'Move every route behind the new gateway.', points: 8, mega: 'CAB-1290', phase: 1 };

let h: Harness | undefined; // the harness's servers get no LINEAR_API_KEY: this file checks the answers without Linear
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Decided {
  status: string;
  council_id: number;
  verdict: string;
  average: number;
  adjustments: string[];
  report_markdown: string;
  message: string;
  posted?: { ok: boolean; reason: string; message: string };
}

describe('the council gate', () => {
  it('an 8-point phase is refused before its council, claimable after go; small phases pass', async () => {
    h = await harness();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const before = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(before).toMatchObject({ claimed: false, reason: 'council_required' });
    expect(before.message).toContain('run_council');
    // next-ready skips the gated phase and takes the small one
    const next = await a.call<{ claimed: boolean; phase: { id: unknown } }>('claim_phase', { mega: 'CAB-1290' });
    expect(next).toMatchObject({ claimed: true, phase: { id: 2 } });

    const c = await a.call<Decided>('run_council', { subject: SUBJECT, reviews: reviews([8, 9, 8, 8]) });
    expect(c).toMatchObject({ status: 'decided', verdict: 'go', average: 8.25 });
    expect(c.message).toContain('from caller reviews');
    const after = await a.call<{ claimed: boolean; phase: { id: unknown } }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(after).toMatchObject({ claimed: true, phase: { id: 1 } });
  });

  it('a reject blocks until a new council from a superseding source decides adjust', async () => {
    // Caller-written councils may overturn a reject only when the config says so (test/security covers the default).
    h = await harness({ config: { council: { supersede_sources: ['caller', 'sampling', 'command'] } } });
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const rej = await a.call<Decided>('run_council', { subject: SUBJECT, reviews: reviews([4, 6, 5, 6]) });
    expect(rej.verdict).toBe('reject');
    const refused = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(refused).toMatchObject({ claimed: false, reason: 'council_required' });
    expect(refused.message).toContain(`council #${rej.council_id} rejected`);
    const adj = await a.call<Decided>('run_council', {
      subject: { ...SUBJECT, description: `${SUBJECT.description} Now with a rollback plan.` },
      reviews: reviews([7, 7, 6, 8], ['add a rollback switch']),
    });
    expect(adj).toMatchObject({ verdict: 'adjust', average: 7, adjustments: ['add a rollback switch (Chucky)'] });
    expect(adj.report_markdown).toContain('- [ ] add a rollback switch (Chucky)');
    const again = await a.raw('run_council', { subject: { ...SUBJECT, description: `${SUBJECT.description} Rollback plan tested.` }, reviews: reviews([7, 7, 6, 8], ['add a rollback switch']) });
    expect(textOf(again)).toContain('Adjustments:\n- add a rollback switch (Chucky)');
    expect((await a.call<{ claimed: boolean }>('claim_phase', { mega: 'CAB-1290', phase: 1 })).claimed).toBe(true);
  });

  it('the limit comes from the config', async () => {
    h = await harness({ config: { council: { gate_points: 1 } } });
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    expect(await a.call('claim_phase', { mega: 'CAB-1290', phase: 2 })).toMatchObject({ claimed: false, reason: 'council_required' });
  });
});

describe('run_council', () => {
  it('stores the council with an operations entry and serves it as factory://council/{id}', async () => {
    h = await harness();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<Decided>('run_council', { subject: { ...SUBJECT, ticket: 'CAB-1350' }, reviews: reviews([9, 9, 9, 9]) });
    expect(c.message).toContain(`factory://council/${c.council_id}`);
    // no LINEAR_API_KEY in tests: a clear message, nothing fails
    expect(c.posted).toMatchObject({ ok: false, reason: 'no_linear_key' });
    expect(c.posted?.message).toContain('LINEAR_API_KEY');
    expect(await h.store.councils.pendingPosts()).toBe(1); // kept for when the key is set
    const res = await a.client.readResource({ uri: `factory://council/${c.council_id}` });
    const text = (res.contents[0] as { text: string }).text;
    expect(text).toContain(`## Council #${c.council_id}: API + Gateway`);
    expect(text).toContain('| Persona | Score | Rationale |');
    expect(text).toContain('| Better Call Saul | 9 | saul rationale |');
    const ops = (await h.store.operations.recent(5)).filter((o) => o.kind === 'council');
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ mega: 'CAB-1290', phase: '1' });
    await expect(a.client.readResource({ uri: 'factory://council/999' })).rejects.toThrow(/unknown council "999"/);
  });

  it('rejects invalid reviews naming the field, and writes nothing', async () => {
    h = await harness();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const before = await snapshot(h.store);
    const bad = reviews([8, 8, 8, 8]);
    bad[2] = { ...bad[2], score: 11 } as (typeof bad)[number];
    const r1 = await a.raw('run_council', { subject: SUBJECT, reviews: bad });
    expect(r1.isError).toBe(true);
    expect(textOf(r1)).toContain('reviews[2].score');
    const dup = reviews([8, 8, 8, 8]);
    dup[3] = { ...dup[3], persona: 'chucky' } as (typeof dup)[number];
    const r2 = await a.raw('run_council', { subject: SUBJECT, reviews: dup });
    expect(textOf(r2)).toContain('reviews[3].persona: duplicate persona chucky');
    const r3 = await a.raw('run_council', { subject: SUBJECT, reviews: reviews([8, 8, 8, 8]).slice(0, 3) });
    expect(textOf(r3)).toContain('reviews: missing persona saul');
    const r4 = await a.raw('run_council', { subject: { title: 'x', description: 'y', phase: 1 } });
    expect(textOf(r4)).toContain('subject.mega');
    expect(await snapshot(h.store)).toBe(before);
  });

  it('a subject naming a phase must name a planned one; its points default to the phase', async () => {
    h = await harness();
    const a = await h.connect();
    const unplanned = await a.raw('run_council', { subject: SUBJECT, reviews: reviews([8, 8, 8, 8]) });
    expect(textOf(unplanned)).toContain('subject.mega: unknown MEGA "CAB-1290"');
    await a.call('plan_mega', PLAN);
    const typo = await a.raw('run_council', { subject: { ...SUBJECT, phase: 7 }, reviews: reviews([8, 8, 8, 8]) });
    expect(textOf(typo)).toContain('subject.phase: unknown phase 7 in MEGA CAB-1290 (known: 1, 2)');
    const { points: _points, ...noPoints } = SUBJECT;
    const c = await a.call<Decided>('run_council', { subject: { ...noPoints, phase: '1' }, reviews: reviews([8, 8, 8, 8]) });
    expect(c.report_markdown).toContain('MEGA CAB-1290 · phase 1 · 8 points');
    expect((await h.store.councils.get(c.council_id))?.subject).toMatchObject({ phase: 1, points: 8, ticket: 'CAB-1350' });
  });

  it('without sampling or a reviewer command answers needs_reviews with the four briefs', async () => {
    h = await harness();
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const before = await snapshot(h.store);
    const r = await a.call<{ status: string; personas: { id: string; brief: string }[]; message: string }>('run_council', { subject: SUBJECT });
    expect(r.status).toBe('needs_reviews');
    expect(r.personas.map((p) => p.id)).toEqual([...PERSONA_IDS]);
    expect(r.personas[1]?.brief).toContain('OSS Killer');
    expect(r.personas[1]?.brief).toContain('Move every route behind the new gateway.');
    // clients that show only the text still get every brief
    const text = textOf(await a.raw('run_council', { subject: SUBJECT }));
    for (const id of PERSONA_IDS) expect(text).toContain(`--- ${id} ---`);
    expect(await snapshot(h.store)).toBe(before);
  });

  it('the briefs are prompts, with config overrides', async () => {
    h = await harness({ config: { council: { personas: { saul: { extra: 'We ship in the EU only.' } } } } });
    const a = await h.connect();
    const list = await a.client.listPrompts();
    expect(list.prompts.map((p) => p.name)).toEqual(['council_chucky', 'council_oss_killer', 'council_archi', 'council_saul']);
    const p = await a.client.getPrompt({ name: 'council_saul', arguments: { subject: 'Scrape competitor prices\nNightly crawler of their shop.' } });
    const text = (p.messages[0]?.content as { text: string }).text;
    expect(text).toContain('Better Call Saul');
    expect(text).toContain('GDPR');
    expect(text).toContain('We ship in the EU only.');
    expect(text).toContain('Title: Scrape competitor prices');
  });
});

describe('the council toolset', () => {
  it('run_council and sync_plan form the council toolset and are left out of --read-only', () => {
    expect(selectTools({ toolsets: ['council'] }).map((t) => t.name)).toEqual(['run_council', 'sync_plan']);
    expect(selectTools({ readOnly: true }).map((t) => t.name)).not.toContain('run_council');
    expect(selectTools({ readOnly: true }).map((t) => t.name)).not.toContain('sync_plan');
  });
});

describe('the Linear outbox', () => {
  it('never hands one report to two posters, even forced; a failure waits for its backoff unless forced', async () => {
    h = await harness();
    const { decide, validateReviews } = await import('../../src/council/domain.js');
    const rs = validateReviews(reviews([8, 8, 8, 8]));
    const c = await h.store.councils.record(
      null,
      { subject: { title: 't', description: 'd', ticket: 'CAB-1' }, sources: ['caller'], reviews: rs, decision: decide(rs), post: true, render: () => 'r' },
      h.clock.now,
    );
    expect(c.post_pending).toBe(true);
    const now = h.clock.now;
    expect((await h.store.councils.takeDue(now, { limit: 5, lockMs: 60_000 })).map((i) => i.council)).toEqual([c.id]);
    expect(await h.store.councils.takeDue(now, { limit: 5, lockMs: 60_000, force: true })).toEqual([]);
    await h.store.councils.markFailed(c.id, 'HTTP 503', now, 600_000);
    expect(await h.store.councils.takeDue(now + 1000, { limit: 5, lockMs: 60_000 })).toEqual([]);
    expect(await h.store.councils.takeDue(now + 1000, { limit: 5, lockMs: 60_000, force: true })).toHaveLength(1);
    expect(await h.store.councils.pendingPosts()).toBe(1);
  });
});

describe('run_council through MCP sampling', () => {
  it('asks the client model once per persona, re-asks a malformed answer once, and reports progress', async () => {
    h = await harness();
    const asked: CreateMessageRequest['params'][] = [];
    const a = await h.connect({
      capabilities: { sampling: {} },
      setup: (client) =>
        client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
          asked.push(req.params);
          const first = req.params.messages[0]?.content as { text: string };
          const persona = PERSONA_IDS.find((p) => first.text.includes(`"persona": "${p}"`)) as string;
          const reask = req.params.messages.length > 1;
          // Archi's first answer is prose with broken JSON; the re-ask gets a valid one.
          const text =
            persona === 'archi' && !reask
              ? 'Overall decent. {"persona": "archi", "score": 8, "rationale": '
              : '```json\n' +
                JSON.stringify({
                  persona,
                  score: persona === 'oss_killer' ? 7 : 9,
                  rationale: `${persona} via model`,
                  concerns: [],
                  adjustments: persona === 'oss_killer' ? ['measure adoption'] : [],
                }) +
                '\n```';
          return { model: 'scripted', role: 'assistant', content: { type: 'text', text } };
        }),
    });
    await a.call('plan_mega', PLAN);
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const r = (await a.client.callTool({ name: 'run_council', arguments: { subject: SUBJECT } }, undefined, { onprogress: (p) => progress.push(p) })) as unknown as {
      structuredContent: Decided;
    };
    expect(r.structuredContent).toMatchObject({ status: 'decided', verdict: 'go', average: 8.5 });
    expect(r.structuredContent.message).toContain('from sampling reviews');
    expect(asked).toHaveLength(5); // four personas + one re-ask
    const reask = asked.find((p) => p.messages.length === 3);
    expect((reask?.messages[2]?.content as { text: string }).text).toContain('could not be read');
    expect(progress.map((p) => p.progress).sort()).toEqual([1, 2, 3, 4]);
    expect(progress.every((p) => p.total === 4)).toBe(true);
    expect(r.structuredContent.report_markdown).toContain('archi via model');
  });

  it('falls through to needs_reviews when the model keeps answering malformed JSON', async () => {
    h = await harness();
    let calls = 0;
    const a = await h.connect({
      capabilities: { sampling: {} },
      setup: (client) =>
        client.setRequestHandler(CreateMessageRequestSchema, async () => {
          calls++;
          return { model: 'scripted', role: 'assistant', content: { type: 'text', text: 'I think it is fine, maybe a 7?' } };
        }),
    });
    await a.call('plan_mega', PLAN);
    const r = await a.call<{ status: string; message: string }>('run_council', { subject: SUBJECT });
    expect(r.status).toBe('needs_reviews');
    expect(r.message).toContain('malformed JSON twice');
    expect(calls).toBe(8);
    expect(await h.store.councils.recent()).toHaveLength(0);
  });
});

describe('run_council with a reviewer command', () => {
  it('runs the command per persona with the brief on stdin and reads JSON from stdout', async () => {
    h = await harness();
    const script = path.join(h.dir, 'reviewer.mjs');
    fs.writeFileSync(
      script,
      `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const p=process.env.FACTORY_COUNCIL_PERSONA;` +
        `if(!s.includes('Title: API + Gateway'))process.exit(3);` +
        `process.stdout.write(JSON.stringify({persona:p,score:p==='saul'?5:6,rationale:'from command '+p,concerns:[],adjustments:[]}));});`,
    );
    const config = (await import('../../src/core/config.js')).parseConfig({ council: { reviewer_command: [process.execPath, script], reviewer_timeout_ms: 10_000 } });
    const a = await h.connect({ config });
    await a.call('plan_mega', PLAN);
    const r = await a.call<Decided>('run_council', { subject: SUBJECT });
    expect(r).toMatchObject({ status: 'decided', verdict: 'reject', average: 5.75 });
    expect(r.message).toContain('from command reviews');
    expect(r.report_markdown).toContain('from command saul');
  });

  it('a failing command is reported and no score is invented', async () => {
    h = await harness();
    const { parseConfig } = await import('../../src/core/config.js');
    const a = await h.connect({ config: parseConfig({ council: { reviewer_command: [process.execPath, '-e', 'process.exit(2)'] } }) });
    await a.call('plan_mega', PLAN);
    const r = await a.call<{ status: string; message: string }>('run_council', { subject: SUBJECT });
    expect(r.status).toBe('needs_reviews');
    expect(r.message).toContain('reviewer command exited 2');
  });
});
