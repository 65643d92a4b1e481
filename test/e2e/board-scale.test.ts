import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBoard, type SeededBoard } from '../../bench/board-seed.js';
import { parseConfig } from '../../src/core/config.js';
import { Store } from '../../src/core/store.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import { launchBrowser } from '../helpers/browser.js';
import { httpAgent, request } from '../helpers/http.js';
import { tempDir, testEnv } from '../helpers/server.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Issue 14: 100,000 phases in 2,000 MEGAs, seeded once straight into a real SQLite file. Every
// board answer stays under 256 KB and the pages, followed to the end, hold every MEGA and every
// phase exactly once: over a real stdio process, over real HTTP, and on the dashboard in Chromium.

const ARTIFACTS = path.resolve('test-artifacts', 'screenshots'); // git-ignored
const MAX = 256 * 1024;
const PER = 50;
let dir: string;
let store: Store;
let seeded: SeededBoard;
let agent: StdioAgent;
let srv: HttpServer;
let browser: Browser;

interface Page_ {
  megas: { key: string; total: number; done: number; claimed: number; ready: number; blocked: number; phases?: { mega: string; id: number }[] }[];
  megas_total: number;
  cursor?: string;
}

beforeAll(async () => {
  dir = tempDir('factory-scale-');
  const file = path.join(dir, 'factory.db');
  store = await Store.open(file, { leaseSeconds: 7200 });
  seeded = seedBoard(store.db, { megas: 2000, phasesPer: PER, now: Date.now() });
  agent = await stdioAgent(file);
  srv = await startHttp({ store, config: parseConfig({}), root: dir, port: 0 });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.close();
  await srv?.close(1000);
  await store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Follows a listing's cursors to the end; each answer's size as it travels (JSON of the whole result). */
async function follow(read: (cursor: string | undefined) => Promise<{ page: Page_; bytes: number }>): Promise<{ pages: Page_[]; biggest: number }> {
  const pages: Page_[] = [];
  let biggest = 0;
  let cursor: string | undefined;
  do {
    const { page, bytes } = await read(cursor);
    biggest = Math.max(biggest, bytes);
    pages.push(page);
    cursor = page.cursor;
    expect(pages.length).toBeLessThan(5000);
  } while (cursor);
  return { pages, biggest };
}

describe('a board of 100,000 phases in 2,000 MEGAs', () => {
  it('over stdio: the summary pages and every MEGA’s pages, each under 256 KB, hold every MEGA and every phase exactly once', async () => {
    const viaTool = (args: Record<string, unknown>) => async (cursor: string | undefined) => {
      const r = await agent.raw('board', { ...args, ...(cursor ? { cursor } : {}) });
      expect(r.isError).toBeFalsy();
      return { page: r.structuredContent as unknown as Page_, bytes: Buffer.byteLength(JSON.stringify(r)) };
    };
    const summary = await follow(viaTool({}));
    expect(summary.biggest).toBeLessThan(MAX);
    const keys = summary.pages.flatMap((p) => p.megas.map((m) => m.key));
    expect(keys).toEqual(seeded.keys); // each once, in planned order
    expect(summary.pages.every((p) => p.megas_total === 2000 && p.megas.every((m) => m.phases === undefined))).toBe(true);
    expect(summary.pages[0]?.megas[0]).toMatchObject({ total: PER, done: 10, claimed: 2 });

    let biggest = 0;
    const seen = new Set<string>();
    let phases = 0;
    for (const key of seeded.keys) {
      // A few MEGAs in small pages, to follow their cursors; the rest whole at the default size.
      const mega = await follow(viaTool({ mega: key, ...(key.endsWith('7') ? { limit: 7 } : {}) }));
      biggest = Math.max(biggest, mega.biggest);
      for (const p of mega.pages)
        for (const x of p.megas[0]?.phases ?? []) {
          seen.add(`${x.mega}/${x.id}`);
          phases++;
        }
    }
    expect(biggest).toBeLessThan(MAX);
    expect(phases).toBe(100_000);
    expect(seen.size).toBe(100_000);
    // The client is still connected: the old 13 MB line is gone.
    expect((await agent.call<Page_>('board', { limit: 1 })).megas).toHaveLength(1);
  }, 120_000);

  it('/api/board pages the same way over HTTP; a bad cursor is a 400 naming it', async () => {
    const host = { host: new URL(srv.url).host };
    const viaHttp = (q: string) => async (cursor: string | undefined) => {
      const r = await request(srv.url, { path: `/api/board?${q}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers: host });
      expect(r.status).toBe(200);
      return { page: JSON.parse(r.body) as Page_, bytes: Buffer.byteLength(r.body) };
    };
    const summary = await follow(viaHttp('limit=500'));
    expect(summary.biggest).toBeLessThan(MAX);
    expect(summary.pages.flatMap((p) => p.megas.map((m) => m.key))).toEqual(seeded.keys);
    const mega = await follow(viaHttp(`mega=${seeded.keys[42]}&limit=20`));
    expect(mega.pages.map((p) => p.megas[0]?.phases?.length)).toEqual([20, 20, 10]);
    expect(mega.pages.flatMap((p) => p.megas[0]?.phases?.map((x) => x.id))).toEqual(Array.from({ length: PER }, (_, i) => i + 1));
    const bad = await request(srv.url, { path: '/api/board?cursor=nope', headers: host });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/^cursor: /);
  });

  it('factory-mcp status: a line per MEGA and how to see one; --mega KEY: all its phases', async () => {
    const env = { ...testEnv(), FACTORY_LOG: 'silent' };
    const all = await runCli(['status', '--db', path.join(dir, 'factory.db')], { cwd: dir, env, timeoutMs: 60_000 });
    expect(all.exitCode).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2001);
    expect(lines[0]).toMatch(/^S-00001 {2}Seeded MEGA 1: .* — 10\/50 done, 2 claimed, 26 ready, 12 blocked · 30\/150 pts · t1000 ×2$/);
    expect(lines.at(-1)).toBe('phases of one MEGA: factory-mcp status --mega S-00001');
    const one = await runCli(['status', '--mega', 'S-00007', '--db', path.join(dir, 'factory.db')], { cwd: dir, env, timeoutMs: 60_000 });
    expect(one.exitCode).toBe(0);
    expect(one.stdout.trimEnd().split('\n')).toHaveLength(1 + PER);
  }, 60_000);

  for (const width of [1280, 400]) {
    it(`the dashboard at ${width} px: the summary first, only the rows in sight, pages as it scrolls, a MEGA's phases on opening, no horizontal scroll`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.setDefaultTimeout(20_000);
      await page.goto(srv.url);
      await page.waitForSelector('#megas .vlist .mega-row');
      expect(await page.textContent('#megas .board-info')).toContain('2000 MEGAs');
      const rows = () => page.locator('#megas .mega-row').count();
      expect(await rows()).toBeGreaterThan(3);
      expect(await rows()).toBeLessThan(60); // a window of the list, not 2,000 rows
      expect(await page.textContent(`[data-mega="${seeded.keys[0]}"] .counts`)).toMatch(/26 ready · 12 blocked · 2 claimed by t1000 ×2/);
      await noSideScroll(page);

      // Scroll to the end: the pages load one after another until the last MEGA is in sight.
      const last = seeded.keys.at(-1) as string;
      for (let i = 0; i < 200 && (await page.locator(`[data-mega="${last}"]`).count()) === 0; i++) {
        await page.evaluate('(() => { const l = document.querySelector("#megas .vlist"); l.scrollTop = l.scrollHeight; })()');
        await page.waitForTimeout(50);
      }
      expect(await page.locator(`[data-mega="${last}"]`).count()).toBe(1);
      expect(await rows()).toBeLessThan(60);

      // Open the last MEGA: its phases come as lanes.
      await page.click(`[data-toggle="${last}"]`);
      await page.waitForSelector(`[data-mega="${last}"] .lane-done .chip`);
      expect(await page.locator(`[data-mega="${last}"] .chip`).count()).toBe(PER);
      expect(await page.textContent(`[data-mega="${last}"] .lane-claimed h4`)).toBe('Claimed (2)');
      await noSideScroll(page);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-scale-${width}.png`) });
      expect(problems).toEqual([]);
      await page.close();
    }, 60_000);
  }

  it('the dashboard follows a claim live: the opened MEGA and its summary row change without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(20_000);
    await page.goto(srv.url);
    const key = seeded.keys[1] as string;
    await page.click(`[data-toggle="${key}"]`);
    await page.waitForSelector(`[data-mega="${key}"] .lane-ready [data-phase="${key}/13"]`);
    await page.waitForSelector('#live.on');
    const a = await httpAgent(srv.url, { name: 'scaler' });
    try {
      await a.call('claim_phase', { mega: key, phase: 13 });
      await page.waitForSelector(`[data-mega="${key}"] .lane-claimed [data-phase="${key}/13"]`, { timeout: 5000 });
      expect(await page.textContent(`[data-mega="${key}"] .counts`)).toMatch(/25 ready · 12 blocked · 3 claimed/);
      expect(await page.textContent(`[data-mega="${key}"] .lane-claimed [data-phase="${key}/13"] .agent`)).toBe('scaler');
    } finally {
      await a.close();
      await page.close();
    }
  });
});

async function noSideScroll(page: Page): Promise<void> {
  const { scroll, inner } = await page.evaluate<{ scroll: number; inner: number }>('({ scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth })');
  expect(scroll).toBeLessThanOrEqual(inner);
}
