/**
 * HTTP load (issue 8): 50 concurrent MCP sessions × 100 tool calls each against
 * `factory-mcp http` (claim_phase) and against a no-op Streamable HTTP server (no-op tool) in
 * the same run: p50/p99 latency, errors, ratios. Then the dashboard's first paint with 100
 * MEGAs of 20 phases, measured in headless Chromium.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium } from 'playwright-core';
import { CLI, fmt, isMain, stats, tmpDb } from './lib.js';
import { fileURLToPath } from 'node:url';

const NOOP_HTTP = fileURLToPath(new URL('./noop-http.js', import.meta.url));

export async function serve(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { cwd: opts.cwd, env: { ...process.env, FACTORY_LOG: 'silent', ...opts.env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /MCP at (http:\/\/[^/\s]+)\/mcp/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { url, child };
}

async function connect(url: string): Promise<Client> {
  const c = new Client({ name: 'load', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL('/mcp', url)));
  return c;
}

async function load(url: string, sessions: number, calls: number, tool: string, args: Record<string, unknown>) {
  const clients = await Promise.all(Array.from({ length: sessions }, () => connect(url)));
  const lat: number[] = [];
  let errors = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c) => {
      for (let i = 0; i < calls; i++) {
        const t = process.hrtime.bigint();
        try {
          const r = await c.callTool({ name: tool, arguments: args });
          if (r.isError) errors++;
        } catch {
          errors++;
        }
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(clients.map((c) => c.close()));
  return { ...stats(lat), errors, rps: lat.length / seconds };
}

export async function benchHttp(opts: { quick?: boolean } = {}) {
  const sessions = 50;
  const calls = opts.quick ? 20 : 100;
  const noop = await serve([NOOP_HTTP]);
  const factory = await serve([CLI, 'http', '--port', '0', '--db', tmpDb()]);
  try {
    const planner = await connect(factory.url);
    // Enough phases for every call to claim one, in MEGAs of at most 1,000 (plan_mega's limit is 5,000).
    const total = sessions * calls + 10;
    for (let m = 0; m * 1000 < total; m++) {
      const r = await planner.callTool({
        name: 'plan_mega',
        arguments: { key: `L-${m + 1}`, title: 'load', phases: Array.from({ length: Math.min(1000, total - m * 1000) }, (_, i) => ({ id: i + 1, name: `p${i + 1}` })) },
      });
      if (r.isError) throw new Error(`plan_mega failed: ${JSON.stringify(r.content)}`);
    }
    await planner.close();
    const floor = await load(noop.url, sessions, calls, 'noop', {});
    const f = await load(factory.url, sessions, calls, 'claim_phase', {});
    const paint = await firstPaint(opts.quick ? 20 : 100, 20);
    return {
      floor,
      factory: f,
      paint,
      lines: [
        `${sessions} sessions x ${calls} calls, factory claim_phase: p50 ${fmt(f.p50)} ms, p99 ${fmt(f.p99)} ms, ${fmt(f.rps, 0)} calls/s, errors ${f.errors}`,
        `same load, no-op HTTP server:           p50 ${fmt(floor.p50)} ms, p99 ${fmt(floor.p99)} ms, ${fmt(floor.rps, 0)} calls/s, errors ${floor.errors}`,
        `  ratio p50 ${fmt(f.p50 / floor.p50)}x, p99 ${fmt(f.p99 / floor.p99)}x (target p99 <= 2x, 0 errors)`,
        `dashboard with ${paint.megas} MEGAs x 20 phases: first contentful paint ${fmt(paint.fcp, 0)} ms, board's first MEGAs rendered ${fmt(paint.rendered, 0)} ms after navigation`,
      ],
    };
  } finally {
    noop.child.kill('SIGTERM');
    factory.child.kill('SIGTERM');
  }
}

async function firstPaint(megas: number, phases: number) {
  const srv = await serve([CLI, 'http', '--port', '0', '--db', tmpDb()]);
  try {
    const c = await connect(srv.url);
    for (let m = 0; m < megas; m++) {
      await c.callTool({
        name: 'plan_mega',
        arguments: { key: `M-${m + 1}`, title: `MEGA ${m + 1}`, phases: Array.from({ length: phases }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}`, points: 2, deps: i ? [i] : [] })) },
      });
    }
    await c.close();
    return { megas, ...(await paintDashboard(srv.url)) };
  } finally {
    srv.child.kill('SIGTERM');
  }
}

/**
 * Opens the dashboard in headless Chromium: first contentful paint, and the time from navigation
 * until the board shows its first MEGA (a small board whole; a large one, its first summary rows).
 */
export async function paintDashboard(url: string): Promise<{ fcp: number; rendered: number }> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(url);
    // Runs in the page; `globalThis` keeps this file free of DOM typings.
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector('#megas [data-mega]') !== null, undefined, {
      timeout: 60_000,
    });
    const rendered = Date.now() - t0;
    const fcp = await page.evaluate(() => globalThis.performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
    return { fcp, rendered };
  } finally {
    await browser.close();
  }
}

if (isMain(import.meta.url)) {
  console.log((await benchHttp({ quick: process.argv.includes('--quick') })).lines.join('\n'));
}
