import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { writeTx } from '../../src/core/db.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import { Store } from '../../src/core/store.js';
import { launchBrowser } from '../helpers/browser.js';
import { httpAgent, type HttpAgent } from '../helpers/http.js';
import { tempDir } from '../helpers/server.js';

const ARTIFACTS = path.resolve('test-artifacts', 'screenshots'); // git-ignored
let dir: string;
let store: Store;
let srv: HttpServer;
let browser: Browser;
let planner: HttpAgent;
let other: HttpAgent;

beforeAll(async () => {
  dir = tempDir('factory-dash-');
  store = await Store.open(path.join(dir, 'factory.db'), { leaseSeconds: 7200 });
  // Phase 2 completes with its Ask change unacknowledged, so the page shows the change's ack button.
  srv = await startHttp({ store, config: parseConfig({ changes: { ask_blocks_complete: false }, governance: { daily_cost_cap_usd: 5 } }), root: dir, port: 0 });
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
  await store?.close();
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
    await planner.call('plan_mega', {
      key: 'DASH-2',
      title: 'Stranded work',
      phases: [
        { id: 1, name: 'Parked one' },
        { id: 2, name: 'Interrupted one' },
      ],
    });
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

  it('at 1400 px and 400 px: agents named, stranded claims marked, governance, memory, report, DoD failures, hostile reports as text', async () => {
    // A rejected council whose agent-written text carries markup: it must reach the page as text.
    const hostile = '<script>window.__xss = 1</script> and <img src=x onerror="window.__xss = 2">';
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 3, rationale: `risky: ${hostile}`, concerns: ['**scope** creep'], adjustments: [] }));
    await planner.call('run_council', { subject: { title: 'Hostile <b>title</b>', description: 'x' }, reviews });
    await planner.call('memory', { op: 'append', section: 'decisions', text: 'SQLite first, PostgreSQL later' });
    await planner.call('memory', { op: 'append', section: 'known_issues', text: 'flaky e2e on slow CI' });
    await planner.call('record_usage', { tokens: 1000, cost_usd: 1.25 });
    await writeTx(store.sql, () =>
      store.dod.record(Date.now(), {
        instance: null,
        mega: 'DASH-1',
        phase: '2',
        tree: 't',
        base: 'b',
        passed: false,
        partial: false,
        score: '9/10',
        cached: false,
        checks: [{ id: 'lint', status: 'fail', duration_ms: 10, detail: '3 errors in src/ui.ts' }],
      }),
    );
    const shots: string[] = [];
    for (const width of [1400, 400]) {
      const page = await browser.newPage({ viewport: { width, height: width > 1000 ? 1300 : 900 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(srv.url);
      page.setDefaultTimeout(10_000);
      await page.waitForSelector('#extras .md p', { state: 'attached' });
      // Agent names beside instance ids, on live, stranded and done phases; one duration format.
      expect(await page.textContent('.lane-claimed [data-phase="DASH-1/1"] .agent')).toBe('cursor');
      expect(await page.textContent('[data-phase="DASH-1/1"] .lease')).toMatch(/^1h \d\dm left$/);
      expect(await page.textContent('[data-phase="DASH-1/2"] .agent')).toBe('planner');
      const gone = await page.textContent('[data-phase="DASH-2/2"].owner-interrupted');
      expect(gone).toMatch(/leaver t\w+ interrupted[\s\S]*its session is gone; resume with session_start \{"resume":"t\w+"\}/);
      // Governance and memory in sight.
      const gov = await page.textContent('#governance');
      expect(gov).toContain('kill switch');
      expect(gov).toContain('level 3 of 5');
      expect(gov).toContain('$1.25 of $5.00 today');
      expect(await page.textContent('#memory')).toMatch(/Decisions[\s\S]*SQLite first[\s\S]*Known issues[\s\S]*flaky e2e/);
      // The cycle report: a chart of points per day and the table.
      expect(await page.locator('#report svg rect').count()).toBe(7);
      expect(await page.textContent('#report')).toMatch(/velocity[\s\S]*PRs merged/);
      // DoD failure details written out, not in a tooltip.
      expect(await page.textContent('#extras ul.failures')).toContain('lint 3 errors in src/ui.ts');
      // No one can acknowledge on this server (no token): the buttons are disabled and say why.
      const ackBtn = page.locator('#extras button[data-ack-kind="council"]');
      expect(await ackBtn.isDisabled()).toBe(true);
      expect(await ackBtn.getAttribute('title')).toContain('FACTORY_ACK_TOKEN');
      expect(await page.textContent('#extras .ack-off')).toContain('acknowledging needs the server started with FACTORY_ACK_TOKEN');
      // The hostile report: formatted, its markup shown as text, nothing run.
      const report = page.locator('#extras .md').filter({ hasText: 'Hostile' });
      await report.locator('xpath=..').locator('summary').click();
      expect(await report.textContent()).toContain(hostile);
      expect(await report.locator('table th').first().textContent()).toBe('Persona');
      expect(await report.locator('strong').first().textContent()).toMatch(/^Verdict: /);
      expect(await page.locator('#extras .md script, #extras .md img, #extras b').count()).toBe(0);
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      // Usable at 400 px: nothing wider than the screen.
      const { scroll, inner } = await page.evaluate<{ scroll: number; inner: number }>('({ scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth })');
      expect(scroll).toBeLessThanOrEqual(inner);
      const shot = path.join(ARTIFACTS, `dashboard-${width}.png`);
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: shot, fullPage: width < 1000 }); // the wide one as a person sees it (docs/dashboard.png), the narrow one whole
      shots.push(shot);
      expect(problems).toEqual([]);
      await page.close();
    }
    expect(shots.every((f) => fs.statSync(f).size > 10_000)).toBe(true);
  });

  it('/api/governance says whether a person can acknowledge here, and the kill switch as the file says', async () => {
    const gov = async (url: string) => (await fetch(new URL('/api/governance', url))).json() as Promise<{ ack: { possible: boolean; reason?: string }; kill_switch: { on: boolean; message: string } }>;
    expect((await gov(srv.url)).ack).toEqual({ possible: false, reason: 'acknowledging needs the server started with FACTORY_ACK_TOKEN (or FACTORY_HTTP_TOKEN)' });
    const other = tempDir('factory-dash-gov-');
    const s2 = await Store.open(path.join(other, 'factory.db'), { leaseSeconds: 7200 });
    const h2 = await startHttp({ store: s2, config: parseConfig({}), root: other, port: 0, ackToken: 'a-human-only-token-1234' });
    try {
      expect((await gov(h2.url)).ack).toEqual({ possible: true });
      fs.mkdirSync(path.join(other, '.factory'), { recursive: true });
      fs.writeFileSync(path.join(other, '.factory', 'KILL'), '');
      expect((await gov(h2.url)).kill_switch).toMatchObject({ on: true, message: expect.stringContaining('.factory/KILL exists') });
    } finally {
      await h2.close(1000);
      await s2.close();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
