import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import { Store } from '../../src/core/store.js';
import { launchBrowser } from '../helpers/browser.js';
import { httpAgent, type HttpAgent } from '../helpers/http.js';
import { tempDir } from '../helpers/server.js';

const ARTIFACTS = path.resolve('test-artifacts');
let dir: string;
let store: Store;
let srv: HttpServer;
let browser: Browser;
let planner: HttpAgent;
let other: HttpAgent;

beforeAll(async () => {
  dir = tempDir('factory-dash-');
  store = Store.open(path.join(dir, 'factory.db'), { leaseSeconds: 7200 });
  // Phase 2 completes with its Ask change unacknowledged, so the page shows the change's ack button.
  srv = await startHttp({ store, config: parseConfig({ changes: { ask_blocks_complete: false } }), root: dir, port: 0 });
  planner = await httpAgent(srv.url, { name: 'planner' });
  other = await httpAgent(srv.url, { name: 'cursor' });
  await planner.call('plan_mega', {
    key: 'DASH-1',
    title: 'Dashboard demo',
    phases: [
      { id: 1, name: 'API', points: 3 },
      { id: 2, name: 'Storage', points: 2 },
      { id: 3, name: 'UI', points: 5, deps: [1, 2] },
    ],
  });
  const c = await planner.call<{ token: string }>('claim_phase', { mega: 'DASH-1', phase: 2 });
  await planner.call('classify_change', { files: [{ path: 'db/migrations/001_init.sql', additions: 30, deletions: 0 }], mega: 'DASH-1', phase: 2, token: c.token });
  await planner.call('checkpoint', { mega: 'DASH-1', phase: 2, token: c.token, progress: { done: ['schema'], next: ['indexes'], percent: 60 } });
  await planner.call('complete_phase', { mega: 'DASH-1', phase: 2, token: c.token });
  const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 9, rationale: 'solid', concerns: [], adjustments: [] }));
  await planner.call('run_council', { subject: { title: 'UI rewrite', description: 'new dashboard UI', mega: 'DASH-1', phase: 3 }, reviews });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await planner?.close();
  await other?.close();
  await srv?.close(1000);
  store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard in headless Chromium', () => {
  it('loads without console errors, shows the board, and updates live when another client claims', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(srv.url);
    await page.waitForSelector('[data-mega="DASH-1"]');
    await page.waitForSelector('#live.on');
    expect(await page.textContent('#megas')).toContain('DASH-1 · Dashboard demo');
    expect(await page.locator('.lane-done [data-phase="DASH-1/2"]').count()).toBe(1);
    expect(await page.locator('.lane-ready [data-phase="DASH-1/1"]').count()).toBe(1);
    expect(await page.locator('.lane-blocked [data-phase="DASH-1/3"]').count()).toBe(1);

    const t0 = Date.now();
    const claim = await other.call<{ owner: string }>('claim_phase', { mega: 'DASH-1', phase: 1 });
    await page.waitForSelector('.lane-claimed [data-phase="DASH-1/1"]', { timeout: 5000 });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(1000); // "within a second of a tool call", via SSE, not polling
    expect(await page.textContent('.lane-claimed [data-phase="DASH-1/1"]')).toContain(claim.owner);
    expect(await page.textContent('#sessions')).toContain('cursor');
    expect(await page.textContent('#operations')).toContain('claimed DASH-1/1');
    const extras = await page.textContent('#extras');
    expect(extras).toContain('Council verdicts');
    expect(extras).toContain('UI rewrite');
    expect(await page.locator('#extras .tag.self').count()).toBe(1); // the caller wrote every review of that council
    expect(extras).toContain('Ship / Show / Ask');
    expect(await page.locator('#extras button[data-ack-kind="change"]').count()).toBe(1); // the Ask change awaits a human
    expect(await page.textContent('#metrics')).toContain('100%'); // council pass rate

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(fs.statSync(path.join(ARTIFACTS, 'dashboard.png')).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('marks parked and interrupted owners distinctly, each claim with the command that resumes it', async () => {
    await planner.call('plan_mega', { key: 'DASH-2', title: 'Stranded work', phases: [{ id: 1, name: 'Parked one' }, { id: 2, name: 'Interrupted one' }] });
    const parker = await httpAgent(srv.url, { name: 'parker' });
    const p = await parker.call<{ owner: string }>('claim_phase', { mega: 'DASH-2', phase: 1 });
    await parker.call('session_end', { summary: 'back tomorrow' });
    await parker.close();
    const leaver = await httpAgent(srv.url, { name: 'leaver' });
    const q = await leaver.call<{ owner: string }>('claim_phase', { mega: 'DASH-2', phase: 2 });
    await leaver.transport.terminateSession(); // gone without session_end
    await leaver.close();

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(srv.url);
    await page.waitForSelector('[data-phase="DASH-2/1"].owner-parked');
    const parked = await page.textContent('[data-phase="DASH-2/1"]');
    expect(parked).toContain('parked');
    expect(parked).toContain(`session_start {"resume":"${p.owner}"}`);
    const gone = await page.textContent('[data-phase="DASH-2/2"].owner-interrupted');
    expect(gone).toContain('interrupted');
    expect(gone).toContain(`session_start {"resume":"${q.owner}"}`);
    expect(await page.locator('.lane-claimed .chip.claimed:not(.owner-parked):not(.owner-interrupted)').count()).toBe(1); // DASH-1/1, live
    const rows = await page.locator('#sessions tr.session').evaluateAll((trs) => trs.map((tr) => tr.textContent ?? ''));
    expect(rows.find((r) => r.includes(p.owner))).toMatch(/parked[\s\S]*session_start \{"resume"/);
    expect(rows.find((r) => r.includes(q.owner))).toMatch(/interrupted[\s\S]*session_start \{"resume"/);
    expect(problems).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-stranded.png'), fullPage: true });
    await page.close();
  });
});
