import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Agent, type Harness } from '../helpers/server.js';
import { FakeGitHub } from '../fakes/github.js';

const PLAN = {
  key: 'G-1',
  title: 'Governed',
  phases: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
  ],
};

let gh: FakeGitHub;
beforeAll(async () => {
  gh = await new FakeGitHub().start();
});
afterAll(async () => {
  await gh.stop();
});

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** Plans, claims phase 1 before the switch, and returns its token. */
async function setup(a: Agent): Promise<string> {
  await a.call('plan_mega', PLAN);
  return (await a.call<{ token: string }>('claim_phase', { mega: 'G-1', phase: 1 })).token;
}

async function expectStopped(a: Agent, token: string, source: RegExp): Promise<void> {
  const claim = await a.call<{ claimed: boolean; reason: string; message: string }>('claim_phase', { mega: 'G-1', phase: 2 });
  expect(claim).toMatchObject({ claimed: false, reason: 'kill_switch' });
  expect(claim.message).toMatch(source);
  const done = await a.call<{ completed: boolean; reason: string }>('complete_phase', { mega: 'G-1', phase: 1, token });
  expect(done).toMatchObject({ completed: false, reason: 'kill_switch' });
  // Reads keep working, and so does saving progress.
  const board = await a.call<{ megas: { phases: { status: string }[] }[] }>('board', {});
  expect(board.megas[0]?.phases.map((p) => p.status)).toEqual(['claimed', 'ready']);
  expect(await a.call('checkpoint', { mega: 'G-1', phase: 1, token, progress: { done: ['a'], next: ['b'] } })).toMatchObject({ saved: true });
  expect(await a.call('session_start', {})).toMatchObject({ kill_switch: true });
}

describe('kill switch', () => {
  it('FACTORY_KILL_SWITCH=1 refuses claims and completions; reads keep working', async () => {
    h = await harness();
    const env: NodeJS.ProcessEnv = {};
    const a = await h.connect({ env });
    const token = await setup(a);
    env.FACTORY_KILL_SWITCH = '1';
    await expectStopped(a, token, /FACTORY_KILL_SWITCH/);
    delete env.FACTORY_KILL_SWITCH;
    expect(await a.call('complete_phase', { mega: 'G-1', phase: 1, token })).toMatchObject({ completed: true });
  });

  it('a config that names another kill file adds it: .factory/KILL still stops claims (an agent cannot retire it by editing the config)', async () => {
    h = await harness({ config: { governance: { kill_switch_file: 'ops/STOP' } } });
    const a = await h.connect({ env: {} });
    const token = await setup(a);
    fs.mkdirSync(path.join(h.dir, '.factory'), { recursive: true });
    fs.writeFileSync(path.join(h.dir, '.factory', 'KILL'), 'incident 43\n');
    await expectStopped(a, token, /\.factory\/KILL/);
    fs.rmSync(path.join(h.dir, '.factory', 'KILL'));
    fs.mkdirSync(path.join(h.dir, 'ops'));
    fs.writeFileSync(path.join(h.dir, 'ops', 'STOP'), '');
    await expectStopped(a, token, /ops\/STOP/);
    fs.rmSync(path.join(h.dir, 'ops', 'STOP'));
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 2 })).toMatchObject({ claimed: true });
  });

  it('a .factory/KILL file at the repository root', async () => {
    h = await harness();
    const a = await h.connect({ env: {} });
    const token = await setup(a);
    fs.mkdirSync(path.join(h.dir, '.factory'), { recursive: true });
    fs.writeFileSync(path.join(h.dir, '.factory', 'KILL'), 'incident 42\n');
    await expectStopped(a, token, /\.factory\/KILL/);
    fs.rmSync(path.join(h.dir, '.factory', 'KILL'));
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 2 })).toMatchObject({ claimed: true });
  });

  it('a GitHub repository variable, read through octokit from the fake GitHub and cached', async () => {
    h = await harness({ config: { github: { owner: 'acme', repo: 'app' }, governance: { kill_switch_variable: 'FACTORY_KILL', kill_switch_cache_seconds: 30 } } });
    const a = await h.connect({ env: gh.env() });
    const token = await setup(a); // the variable does not exist yet: 404 → off
    gh.variables.set('acme/app/FACTORY_KILL', 'true');
    h.clock.advance(31_000);
    await expectStopped(a, token, /GitHub variable FACTORY_KILL of acme\/app/);
    const reads = () => gh.requests.filter((r) => r.path === '/repos/acme/app/actions/variables/FACTORY_KILL').length;
    const before = reads();
    gh.variables.set('acme/app/FACTORY_KILL', '0');
    // Within the cache time the old value holds and GitHub is not asked again.
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 2 })).toMatchObject({ claimed: false, reason: 'kill_switch' });
    expect(reads()).toBe(before);
    h.clock.advance(31_000);
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 2 })).toMatchObject({ claimed: true });
    expect(reads()).toBe(before + 1);
    expect(gh.requests.at(-1)?.headers.authorization).toBe('token test-token');
  });
});

describe('kill switch variable unreadable', () => {
  it('a GitHub error keeps the last known value for one cache period and is logged', async () => {
    h = await harness({ config: { github: { owner: 'acme', repo: 'app' }, governance: { kill_switch_variable: 'FACTORY_KILL' } } });
    const warnings: string[] = [];
    const a = await h.connect({ env: { ...gh.env(), GITHUB_TOKEN: 'wrong' }, logger: { info() {}, error() {}, warn: (m) => warnings.push(m) } });
    const reads = () => gh.requests.filter((r) => r.path === '/repos/acme/app/actions/variables/FACTORY_KILL').length;
    const before = reads();
    await a.call('plan_mega', PLAN);
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 1 })).toMatchObject({ claimed: true });
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 2 })).toMatchObject({ claimed: true });
    expect(reads()).toBe(before + 1);
    expect(warnings.join('\n')).toMatch(/FACTORY_KILL of acme\/app could not be read/);
    expect(warnings.join('\n')).not.toContain('wrong');
  });
});

describe('cost cap and autonomy', () => {
  it("refuses new claims with cost_cap once today's recorded cost reaches the cap; the next UTC day is fresh", async () => {
    h = await harness({ config: { autonomy: 4, governance: { daily_cost_cap_usd: 5 } } });
    const a = await h.connect({ env: {} });
    const s = await a.call('session_start', {});
    expect(s).toMatchObject({ autonomy: 4 });
    expect(await a.call('board', {})).toMatchObject({ autonomy: 4 });
    await a.call('plan_mega', PLAN);
    const u1 = await a.call('record_usage', { tokens: 100_000, cost_usd: 3 });
    expect(u1).toMatchObject({ today_cost_usd: 3, daily_cap_usd: 5, cap_reached: false });
    const b = await h.connect({ env: {} });
    const u2 = await b.call('record_usage', { tokens: 90_000, cost_usd: 2.5, model: 'opus' });
    expect(u2).toMatchObject({ session_cost_usd: 2.5, today_cost_usd: 5.5, cap_reached: true });
    expect(await a.call('claim_phase', {})).toMatchObject({ claimed: false, reason: 'cost_cap' });
    h.clock.advance(24 * 3600 * 1000);
    expect(await a.call('claim_phase', {})).toMatchObject({ claimed: true });
    expect((await h.store.operations.recent(20)).filter((o) => o.kind === 'usage')).toHaveLength(2);
  });
});
