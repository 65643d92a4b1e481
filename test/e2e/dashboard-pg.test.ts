import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { factoryHttp, httpAgent, useProcesses } from '../helpers/http.js';
import { freshDatabase, pgRows } from '../helpers/postgres.js';

/**
 * Live updates across servers (issue 14): a claim made through `factory-mcp http` A shows on the
 * dashboard served by `factory-mcp http` B, both real processes on one PostgreSQL database, within
 * a second — B hears of A's commit through LISTEN/NOTIFY, not by polling.
 */

const run = useProcesses();
let browser: Browser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

/** The backends of `db` whose last statement was a LISTEN: the servers waiting for notifications. */
async function listeners(url: string): Promise<number> {
  const r = await pgRows<{ n: string }>(url, "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle' AND query ILIKE 'listen %'");
  return Number(r[0]?.n);
}

describe('the dashboard of one server on PostgreSQL', () => {
  it("shows a claim made through another server within one second, measured from the claim's answer to the row showing claimed", async () => {
    const url = await freshDatabase();
    const dir = run.dir('factory-dash-pg-');
    const [a, b] = await Promise.all([factoryHttp(url, dir, run.servers), factoryHttp(url, dir, run.servers)]);
    const agent = await httpAgent(a.url, { name: 'agent-on-a' });
    run.clients.push(agent);
    await agent.call('plan_mega', {
      key: 'PG-1',
      title: 'Across servers',
      phases: [1, 2, 3, 4].map((id) => ({ id, name: `phase ${id}`, points: 1, deps: id === 4 ? [1, 2, 3] : [] })),
    });

    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(b.url);
    await page.waitForSelector('.lane-ready [data-phase="PG-1/1"]');
    await page.waitForSelector('#live.on'); // B's /events stream is open
    expect(await listeners(url)).toBeGreaterThanOrEqual(1); // B waits on LISTEN, it does not poll

    for (const id of [1, 2, 3]) {
      // The page records the moment the row shows as claimed, by its own clock (the same machine's).
      await page.evaluate((sel) => {
        const w = globalThis as unknown as {
          __seen?: number;
          document: { querySelector(s: string): unknown; body: unknown };
          MutationObserver: new (cb: () => void) => { observe(n: unknown, o: object): void; disconnect(): void };
        };
        w.__seen = undefined;
        const obs = new w.MutationObserver(() => {
          if (w.__seen === undefined && w.document.querySelector(sel)) {
            w.__seen = Date.now();
            obs.disconnect();
          }
        });
        obs.observe(w.document.body, { childList: true, subtree: true, attributes: true, characterData: true });
      }, `.lane-claimed [data-phase="PG-1/${id}"]`);
      const claim = await agent.call<{ claimed: boolean; owner: string }>('claim_phase', { mega: 'PG-1', phase: id });
      const answered = Date.now();
      expect(claim.claimed).toBe(true);
      await page.waitForSelector(`.lane-claimed [data-phase="PG-1/${id}"]`, { timeout: 5000 });
      const seen = (await page.evaluate('window.__seen')) as number;
      expect(seen - answered, `PG-1/${id} showed ${seen - answered} ms after the claim's answer`).toBeLessThan(1000);
      expect(await page.textContent(`.lane-claimed [data-phase="PG-1/${id}"]`)).toContain(claim.owner);
    }
    expect(await page.textContent('#sessions')).toContain('agent-on-a');
    expect(await page.textContent('#operations')).toContain('claimed PG-1/3');
    expect(problems).toEqual([]);
  }, 60_000);
});
