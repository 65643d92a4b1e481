import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckDodResult } from '../../schemas/dod.js';
import { makeSampleRepo, sampleConfig } from '../../bench/dod-sample.js';
import { parseConfig } from '../../src/core/config.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import { STATUS_KIND } from '../../src/governance/statuses.js';
import { Store } from '../../src/core/store.js';
import { FakeGitHub, type FakeStatus } from '../fakes/github.js';
import { httpAgent, request, type HttpAgent } from '../helpers/http.js';
import { tempDir } from '../helpers/server.js';
import { CLI } from '../helpers/stdio.js';

const REJECT = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 3, rationale: 'too risky', concerns: ['scope'], adjustments: [] }));

describe('the gates as GitHub commit statuses on the pull request head (branch protection enforces them)', () => {
  let gh: FakeGitHub;
  let repo: { dir: string; head: string };
  let dir: string;
  let store: Store;
  let srv: HttpServer;
  let agent: HttpAgent;
  let token: string;

  /** Waits until GitHub holds the wanted newest status of a context on the PR head (delivery is not awaited by the tools). */
  const statusOn = async (context: string, want: Partial<FakeStatus>): Promise<FakeStatus> => {
    let last: FakeStatus | undefined;
    for (let i = 0; i < 200; i++) {
      last = gh.latestStatus(repo.head, context);
      if (last && Object.entries(want).every(([k, v]) => (last as unknown as Record<string, unknown>)[k] === v)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${context} on ${repo.head.slice(0, 8)}: wanted ${JSON.stringify(want)}, GitHub has ${JSON.stringify(last)}`);
  };
  // The fake GitHub lives in this process: the CLI runs asynchronously so that it can answer.
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    promisify(execFile)(process.execPath, [CLI, ...args], {
      cwd: repo.dir,
      env: { ...process.env, ...gh.env(), FACTORY_DB: path.join(dir, 'factory.db'), FACTORY_LOG: 'silent', ...extra },
      encoding: 'utf8',
      timeout: 30_000,
    });
  const ack = (kind: string, ref: number) =>
    request(srv.url, {
      method: 'POST',
      path: '/api/ack',
      headers: { host: new URL(srv.url).host, 'content-type': 'application/json', authorization: 'Bearer ack-secret' },
      body: JSON.stringify({ kind, ref }),
    });

  beforeAll(async () => {
    gh = await new FakeGitHub().start();
    repo = makeSampleRepo(); // branch feature, origin github.com/acme/app
    gh.pulls.set('acme/app', [{ number: 7, head: { ref: 'feature', sha: repo.head } }]);
    gh.checkRuns.set(
      repo.head,
      ['build', 'test', 'lint'].map((name) => ({ name, status: 'completed' as const, conclusion: 'success' as const })),
    );
    dir = tempDir('factory-status-');
    store = await Store.open(path.join(dir, 'factory.db'), { leaseSeconds: 7200 });
    srv = await startHttp({ store, config: parseConfig({ dod: sampleConfig() }), root: repo.dir, port: 0, ackToken: 'ack-secret', env: { ...process.env, ...gh.env() } });
    agent = await httpAgent(srv.url);
    await agent.call('session_start', {});
    await agent.call('plan_mega', { key: 'S-1', title: 'statuses', phases: [{ id: 1, name: 'big one', points: 8 }] });
  });
  afterAll(async () => {
    await agent?.close();
    await srv?.close(1000);
    await store?.close();
    await gh?.stop();
    if (repo) fs.rmSync(repo.dir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('factory/council: failure on a reject, success once a human acknowledges it; factory/change pending before any classification', async () => {
    const c = await agent.call<{ verdict: string; council_id: number }>('run_council', { subject: { title: 'Big one', description: 'rewrite it', mega: 'S-1', phase: 1 }, reviews: REJECT });
    expect(c.verdict).toBe('reject');
    expect(await statusOn('factory/council', { state: 'failure' })).toMatchObject({ description: `council #${c.council_id}: REJECT` });
    expect(await statusOn('factory/change', { state: 'pending' })).toMatchObject({ description: expect.stringMatching(/not classified yet/) });
    expect((await ack('council', c.council_id)).status).toBe(200);
    expect(await statusOn('factory/council', { state: 'success' })).toMatchObject({ description: expect.stringMatching(/REJECT, overridden by a human/) });
    const posts = gh.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/statuses/${repo.head}`));
    expect(posts.every((r) => r.path === `/repos/acme/app/statuses/${repo.head}` && r.headers.authorization === 'token test-token')).toBe(true);
  });

  it('factory/change: pending for Ask until a human acknowledges it', async () => {
    ({ token } = await agent.call<{ token: string }>('claim_phase', { mega: 'S-1', phase: 1 }));
    const cls = await agent.call<{ level: string; stored: boolean }>('classify_change', { files: [{ path: '.github/workflows/ci.yml', additions: 3, deletions: 0 }], mega: 'S-1', phase: 1, token });
    expect(cls).toMatchObject({ level: 'ask', stored: true });
    const id = (await store.changes.latest('S-1', 1))?.id as number;
    await statusOn('factory/change', { state: 'pending', description: `ASK #${id}: waiting for a human to acknowledge it` });
    expect((await ack('change', id)).status).toBe(200);
    expect(await statusOn('factory/change', { state: 'success' })).toMatchObject({ description: `ASK #${id}: acknowledged by a human` });
  });

  it('factory/dod: failure with the score until all ten pass, then success; our own statuses never count as CI', async () => {
    const first = await agent.call<CheckDodResult>('check_dod', { mega: 'S-1', phase: 1 });
    expect(first.passed).toBe(false);
    expect(first.checks.find((x) => x.id === 'ci_green')?.status).toBe('pass'); // factory/* statuses on the head are not CI checks
    expect(await statusOn('factory/dod', { state: 'failure' })).toMatchObject({ description: `DoD ${first.score}: state_updated` });
    const posts = (context: string) => gh.requests.filter((r) => r.method === 'POST' && (r.body as { context?: string }).context === context).length;
    const before = { change: posts('factory/change'), council: posts('factory/council') };
    await agent.call('checkpoint', { mega: 'S-1', phase: 1, token, progress: { done: ['all'], next: [] } });
    await agent.call('memory', { op: 'append', section: 'decisions', text: 'rewrote it' });
    const done = await agent.call<CheckDodResult>('check_dod', { mega: 'S-1', phase: 1 });
    expect(done).toMatchObject({ passed: true, score: '10/10' });
    expect(await statusOn('factory/dod', { state: 'success' })).toMatchObject({ description: 'DoD 10/10' });
    // The DoD run re-published the phase's other gates on the same head (posted before factory/dod).
    expect(posts('factory/change')).toBeGreaterThan(before.change);
    expect(posts('factory/council')).toBeGreaterThan(before.council);
    expect(gh.latestStatus(repo.head, 'factory/change')?.state).toBe('success');
    expect(gh.latestStatus(repo.head, 'factory/council')?.state).toBe('success');
  });

  it('with GitHub down the answer is not held up; the status waits in the outbox and is delivered once GitHub is back', async () => {
    const port = Number(new URL(gh.url).port);
    await gh.stop();
    const cls = await agent.call<{ level: string; stored: boolean }>('classify_change', { files: [{ path: 'docs/guide.md', additions: 3, deletions: 0 }], mega: 'S-1', phase: 1, token });
    expect(cls).toMatchObject({ level: 'ship', stored: true });
    // The delivery failed and was kept, with its error, for a retry.
    for (let i = 0; i < 200 && !(await store.outbox.list(STATUS_KIND))[0]?.last_error; i++) await new Promise((r) => setTimeout(r, 50));
    const waiting = await store.outbox.list(STATUS_KIND);
    expect(waiting.map((w) => w.key)).toEqual(['S-1/1']);
    expect(waiting[0]?.last_error).toMatch(/ECONNREFUSED|fetch failed|connect/i);
    expect(gh.latestStatus(repo.head, 'factory/change')?.description).toMatch(/^ASK/); // not delivered

    expect((await cli(['statuses'])).stdout).toMatch(/^S-1\/1 {2}1 attempt\(s\)/);
    await gh.start(port);
    const retry = await cli(['statuses', '--retry', '--json']); // rejects unless it exits 0
    expect(JSON.parse(retry.stdout)).toMatchObject({ posted: 2, failed: [], pending: 0 });
    expect(gh.latestStatus(repo.head, 'factory/change')).toMatchObject({ state: 'success', description: 'SHIP: zero risk, merge now' });
    expect(await store.outbox.pending(STATUS_KIND)).toBe(0);
  });

  it('a human acknowledging an Ask from the terminal (factory-mcp ack) opens factory/change too', async () => {
    await agent.call('classify_change', { files: [{ path: '.github/workflows/deploy.yml', additions: 3, deletions: 0 }], mega: 'S-1', phase: 1, token });
    const id = (await store.changes.latest('S-1', 1))?.id as number;
    await statusOn('factory/change', { state: 'pending', description: `ASK #${id}: waiting for a human to acknowledge it` });
    const r = await cli(['ack', 'change', String(id)], { FACTORY_ACK_TOKEN: 'ack-secret' });
    expect(r.stdout).toMatch(/^acknowledged: /);
    expect(gh.latestStatus(repo.head, 'factory/change')).toMatchObject({ state: 'success', description: `ASK #${id}: acknowledged by a human` }); // posted before the CLI exited
  });
  it('factory/council: a reject stays a failure on GitHub when the phase is re-planned below the gate', async () => {
    await agent.call('plan_mega', { key: 'S-9', title: 'replan', phases: [{ id: 1, name: 'big', points: 8 }] });
    const c = await agent.call<{ verdict: string; council_id: number }>('run_council', { subject: { title: 'Big', description: 'rewrite it all', mega: 'S-9', phase: 1 }, reviews: REJECT });
    expect(c.verdict).toBe('reject');
    expect(await statusOn('factory/council', { state: 'failure', description: `council #${c.council_id}: REJECT` })).toBeDefined();
    await agent.call('plan_mega', { key: 'S-9', title: 'replan', phases: [{ id: 1, name: 'big', points: 2 }] });
    // The agent's own 9/10 council on the re-planned phase posts its gates again.
    const posts = () => gh.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/statuses/${repo.head}`) && (r.body as { context?: string }).context === 'factory/council').length;
    const before = posts();
    const go = REJECT.map((r) => ({ ...r, score: 9, rationale: 'fine now' }));
    await agent.call('run_council', { subject: { title: 'Big', description: 'rewrite it all, in two points', mega: 'S-9', phase: 1 }, reviews: go });
    for (let i = 0; i < 200 && posts() === before; i++) await new Promise((r) => setTimeout(r, 50));
    expect(posts()).toBeGreaterThan(before);
    expect(gh.latestStatus(repo.head, 'factory/council')).toMatchObject({ state: 'failure', description: `council #${c.council_id}: REJECT` });
  });
});
