import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { apiRoutes } from '../../src/http/api.js';
import { parseConfig } from '../../src/core/config.js';
import { Store } from '../../src/core/store.js';
import { councilStatus } from '../../src/governance/statuses.js';
import { tempDir } from '../helpers/server.js';
import { CLI, runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Finding 6 of issue 12: after a reject, the same agent ran a new council with its own 9/10
// reviews and claimed the phase two calls later. A council records where its reviews came from;
// one written by the caller is marked self-reviewed and cannot overturn a reject.

const PERSONAS = ['chucky', 'oss_killer', 'archi', 'saul'];
const reviews = (score: number) => PERSONAS.map((persona) => ({ persona, score, rationale: `${persona}: ${score}`, concerns: [], adjustments: [] }));
const PLAN = { key: 'SEC-6', title: 'Gateway', phases: [{ id: 1, name: 'Move routes', points: 8 }] };
const SUBJECT = { title: 'Move routes', description: 'Move every route behind the new gateway.', mega: 'SEC-6', phase: 1 };

let dir = '';
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c().catch(() => {})));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function setup(config?: unknown): string {
  dir = tempDir('factory-council-sec-');
  if (config) fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify(config));
  return path.join(dir, 'factory.db');
}

async function agent(db: string): Promise<StdioAgent> {
  const env: Record<string, string> = { LINEAR_API_KEY: '' };
  const a = await stdioAgent(db, { cwd: dir, env, args: ['--cwd', dir] });
  closers.push(() => a.close());
  return a;
}

/** A stdio agent whose client answers MCP sampling requests with `score` from every persona. */
async function samplingAgent(db: string, score: number): Promise<(name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>> {
  const client = new Client({ name: 'sampling-agent', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const persona = /"persona": "(\w+)"/.exec((req.params.messages[0]?.content as { text: string }).text)?.[1];
    return { model: 'scripted', role: 'assistant', content: { type: 'text', text: JSON.stringify({ persona, score, rationale: `${persona} reviewed it`, concerns: [], adjustments: [] }) } };
  });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, '--cwd', dir],
      env: { ...(process.env as Record<string, string>), FACTORY_DB: db, FACTORY_LOG: 'silent', LINEAR_API_KEY: '' },
      stderr: 'ignore',
    }),
  );
  closers.push(() => client.close());
  return async (name, args) => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
    return r.structuredContent as Record<string, unknown>;
  };
}

/** The phase row and how many claims were ever logged: what a claim would change. */
function claimState(db: string): unknown {
  const d = new Database(db, { readonly: true });
  try {
    return { phase: d.prepare('SELECT owner, token, epoch FROM phases').all(), claims: d.prepare("SELECT count(*) AS n FROM operations WHERE kind = 'claim'").get() };
  } finally {
    d.close();
  }
}

/** The rows a query answers on the database, read-only. */
function read(db: string, sql: string): unknown[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all();
  } finally {
    d.close();
  }
}

describe('a self-reviewed council cannot overturn a reject', () => {
  it("reject, then the caller's own 9/10 council, then claim_phase: still council_required, naming how a human acknowledges", async () => {
    const db = setup();
    const a = await agent(db);
    await a.call('plan_mega', PLAN);
    const rej = await a.call<{ verdict: string; council_id: number; self_reviewed: boolean; sources: string[]; report_markdown: string; message: string }>('run_council', {
      subject: SUBJECT,
      reviews: reviews(4),
    });
    expect(rej).toMatchObject({ verdict: 'reject', self_reviewed: true, sources: ['caller'] });
    expect(rej.report_markdown).toContain('Self-reviewed');

    const go = await a.call<{ verdict: string; self_reviewed: boolean; message: string; report_markdown: string }>('run_council', {
      subject: { ...SUBJECT, description: `${SUBJECT.description} Reworked: smaller scope.` },
      reviews: reviews(9),
    });
    expect(go).toMatchObject({ verdict: 'go', self_reviewed: true });
    expect(go.report_markdown).toContain('Self-reviewed');
    expect(go.message).toContain('does not open the gate');

    const before = claimState(db);
    const claim = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'SEC-6', phase: 1 });
    expect(claim).toMatchObject({ claimed: false, reason: 'council_required' });
    expect(claim.message).toContain(`council #${rej.council_id} rejected`);
    expect(claim.message).toContain(`factory-mcp ack council ${rej.council_id}`);
    expect(claim.message).toContain('FACTORY_ACK_TOKEN');
    expect(claim.message).toContain('dashboard');
    expect(claimState(db)).toEqual(before);

    // The dashboard's API marks both councils self-reviewed (the page shows a badge from it).
    const store = await Store.open(db, { leaseSeconds: 7200 });
    try {
      const api = await apiRoutes({ store, config: parseConfig({}), clock: Date.now, root: dir, env: {} })('GET', new URL('http://127.0.0.1/api/councils'), undefined, {
        authorized: false,
        tokenConfigured: false,
      });
      expect((api.body as { councils: unknown[] }).councils).toMatchObject([
        { self_reviewed: true, sources: ['caller'] },
        { self_reviewed: true, sources: ['caller'] },
      ]);
    } finally {
      await store.close();
    }

    // The agent cannot ack from its own shell without the human's token...
    const env: NodeJS.ProcessEnv = { ...process.env, FACTORY_DB: db };
    delete env.FACTORY_ACK_TOKEN;
    const noToken = await runCli(['ack', 'council', String(rej.council_id), '--cwd', dir], { cwd: dir, env });
    expect(noToken.exitCode).toBe(2);
    expect(noToken.stderr).toContain('FACTORY_ACK_TOKEN');
    expect((await a.call<{ claimed: boolean }>('claim_phase', { mega: 'SEC-6', phase: 1 })).claimed).toBe(false);
    // ...and the human's acknowledgement opens the gate.
    expect((await runCli(['ack', '--enroll', '--cwd', dir], { cwd: dir, env: { ...env, FACTORY_ACK_TOKEN: 'human-secret' } })).exitCode).toBe(0); // the human's token, enrolled
    const acked = await runCli(['ack', 'council', String(rej.council_id), '--cwd', dir, '--note', 'scope is fine'], { cwd: dir, env: { ...env, FACTORY_ACK_TOKEN: 'human-secret' } });
    expect(acked.exitCode).toBe(0);
    expect((await a.call<{ claimed: boolean }>('claim_phase', { mega: 'SEC-6', phase: 1 })).claimed).toBe(true);
  });

  it("a re-plan that lowers the rejected phase's points, or drops them, does not lift the reject", async () => {
    const db = setup();
    const a = await agent(db);
    await a.call('plan_mega', PLAN);
    const rej = await a.call<{ council_id: number; verdict: string }>('run_council', { subject: SUBJECT, reviews: reviews(3) });
    expect(rej.verdict).toBe('reject');
    for (const points of [2, undefined]) {
      await a.call('plan_mega', { ...PLAN, phases: [{ id: 1, name: 'Move routes', ...(points === undefined ? {} : { points }) }] });
      const before = claimState(db);
      const claim = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'SEC-6', phase: 1 });
      expect(claim).toMatchObject({ claimed: false, reason: 'council_required' });
      expect(claim.message).toContain(`council #${rej.council_id} rejected SEC-6/1 (re-planned to ${points ?? 'no'} points`);
      expect(claim.message).toContain(`factory-mcp ack council ${rej.council_id}`);
      expect(claimState(db)).toEqual(before);
    }
  });

  it('a re-plan that lowers the points of a phase above the gate does not skip the council; its factory/council status stays pending', async () => {
    const db = setup();
    const a = await agent(db);
    await a.call('plan_mega', PLAN); // 8 points: above the gate of 5
    for (const points of [2, undefined]) {
      await a.call('plan_mega', { ...PLAN, phases: [{ id: 1, name: 'Move routes', ...(points === undefined ? {} : { points }) }] });
      const before = claimState(db);
      const claim = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'SEC-6', phase: 1 });
      expect(claim).toMatchObject({ claimed: false, reason: 'council_required' });
      expect(claim.message).toContain(`SEC-6/1 has ${points ?? 'no'} points (planned at 8 points before; re-planning it lower does not lift the gate)`);
      expect(claimState(db)).toEqual(before);
    }
    const store = await Store.open(db, { leaseSeconds: 7200 });
    try {
      expect(await councilStatus(store, parseConfig({}), 'SEC-6', '1')).toMatchObject({ state: 'pending', description: '8 points: a council must decide first (run_council)' });
    } finally {
      await store.close();
    }
    expect((await a.call<{ verdict: string }>('run_council', { subject: SUBJECT, reviews: reviews(9) })).verdict).toBe('go');
    expect(await a.call('claim_phase', { mega: 'SEC-6', phase: 1 })).toMatchObject({ claimed: true });
  });

  it('a re-plan that drops the rejected phase (to plan it again under another id) is refused, naming phases', async () => {
    const db = setup();
    const a = await agent(db);
    await a.call('plan_mega', PLAN);
    const rej = await a.call<{ council_id: number }>('run_council', { subject: SUBJECT, reviews: reviews(3) });
    const phases = () => read(db, 'SELECT id, points FROM phases ORDER BY id');
    const before = phases();
    const r = await a.raw('plan_mega', { ...PLAN, phases: [{ id: 2, name: 'Move routes', points: 8 }] });
    expect(r.isError).toBe(true);
    const text = JSON.stringify(r.content);
    expect(text).toContain('phases');
    expect(text).toContain(`standing reject (council #${rej.council_id})`);
    expect(phases()).toEqual(before);
    // Keeping it (and adding more) is fine.
    expect(await a.call('plan_mega', { ...PLAN, phases: [...PLAN.phases, { id: 2, name: 'Docs', points: 1 }] })).toMatchObject({ phases: 2 });
  });

  it('a council whose reviews come from MCP sampling does supersede the reject', async () => {
    const db = setup();
    const a = await agent(db);
    await a.call('plan_mega', PLAN);
    await a.call('run_council', { subject: SUBJECT, reviews: reviews(3) });
    const call = await samplingAgent(db, 9);
    const go = await call('run_council', { subject: { ...SUBJECT, description: `${SUBJECT.description} Reworked after the reject.` } });
    expect(go).toMatchObject({ status: 'decided', verdict: 'go', sources: ['sampling'], self_reviewed: false });
    expect(go.report_markdown).not.toContain('Self-reviewed');
    expect(await call('claim_phase', { mega: 'SEC-6', phase: 1 })).toMatchObject({ claimed: true });
  });

  it('gate_sources without caller: a caller-only go does not open the gate, a sampling go does', async () => {
    const db = setup({ council: { gate_sources: ['sampling', 'command'] } });
    const a = await agent(db);
    await a.call('plan_mega', PLAN);
    const go = await a.call<{ verdict: string; message: string }>('run_council', { subject: SUBJECT, reviews: reviews(10) });
    expect(go.verdict).toBe('go');
    expect(go.message).toContain('council.gate_sources');
    const before = claimState(db);
    const claim = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'SEC-6', phase: 1 });
    expect(claim).toMatchObject({ claimed: false, reason: 'council_required' });
    expect(claim.message).toContain('gate_sources');
    expect(claimState(db)).toEqual(before);
    const call = await samplingAgent(db, 8);
    expect(await call('run_council', { subject: { ...SUBJECT, description: `${SUBJECT.description} Independent review.` } })).toMatchObject({ verdict: 'go', sources: ['sampling'] });
    expect(await call('claim_phase', { mega: 'SEC-6', phase: 1 })).toMatchObject({ claimed: true });
  });

  it('a council on the same subject with an unchanged description is refused, naming the field', async () => {
    const db = setup();
    const a = await agent(db);
    await a.call('plan_mega', PLAN);
    const first = await a.call<{ council_id: number }>('run_council', { subject: SUBJECT, reviews: reviews(4) });
    const count = () => read(db, "SELECT (SELECT count(*) FROM councils) AS councils, (SELECT count(*) FROM operations WHERE kind = 'council') AS ops");
    const before = count();
    // Whitespace alone is no change.
    const again = await a.raw('run_council', { subject: { ...SUBJECT, description: `  ${SUBJECT.description.replace(/ /g, '  ')}\n` }, reviews: reviews(9) });
    expect(again.isError).toBe(true);
    const text = JSON.stringify(again.content);
    expect(text).toContain('subject.description');
    expect(text).toContain(`unchanged since council #${first.council_id}`);
    expect(count()).toEqual(before);
    // The server keeps answering.
    expect(await a.call('board', {})).toHaveProperty('megas');
  });
});
