import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import { Store } from '../../src/core/store.js';
import { launchBrowser } from '../helpers/browser.js';
import { request } from '../helpers/http.js';
import { FakeClock, tempDir } from '../helpers/server.js';
import { CLI } from '../helpers/stdio.js';

// Finding 12.12: the token is compared as fixed-length digests, never travels in a URL, and the
// dashboard's cookie is an opaque, expiring session id rather than the token itself.

const TOKEN = 'correct-horse-battery-staple-0123456789';
let dir: string;
let store: Store;
let srv: HttpServer | null;
let clock: FakeClock;

beforeEach(async () => {
  dir = tempDir('factory-tokens-');
  store = await Store.open(path.join(dir, 'factory.db'), { leaseSeconds: 7200 });
  clock = new FakeClock();
  srv = null;
});
afterEach(async () => {
  await srv?.close(1000);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(o: { ackToken?: string; loginTtlSeconds?: number } = {}): Promise<HttpServer> {
  srv = await startHttp({ store, config: parseConfig({}), root: dir, port: 0, token: TOKEN, clock: clock.fn, ...o });
  return srv;
}

const host = () => new URL((srv as HttpServer).url).host;

/** Signs in with the form and returns the session cookie (name=value). */
async function login(s: HttpServer, token = TOKEN): Promise<{ status: number; cookie: string | null; setCookie: string }> {
  const r = await request(s.url, { method: 'POST', path: '/login', headers: { host: host(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
  const setCookie = ([] as string[]).concat(r.headers['set-cookie'] ?? []).join('\n');
  return { status: r.status, cookie: /^(factory_session=[^;]+)/.exec(setCookie)?.[1] ?? null, setCookie };
}

describe('HTTP token handling (12.12)', () => {
  it('/?token= no longer authenticates or sets a cookie; the page sends the browser to the sign-in form', async () => {
    const s = await start();
    const r = await request(s.url, { path: `/?token=${TOKEN}`, headers: { host: host() } });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/login');
    expect(r.headers['set-cookie']).toBeUndefined();
    const api = await request(s.url, { path: `/api/board?token=${TOKEN}`, headers: { host: host() } });
    expect(api.status).toBe(401);
    // The token as a cookie, the old way, opens nothing either.
    expect((await request(s.url, { path: '/api/board', headers: { host: host(), cookie: `factory_token=${TOKEN}` } })).status).toBe(401);
  });

  it('a sign-in cookie is an opaque id, not the token, HttpOnly and SameSite=Strict, and it expires', async () => {
    const s = await start({ loginTtlSeconds: 3600 });
    const { status, cookie, setCookie } = await login(s);
    expect(status).toBe(303);
    expect(cookie).not.toBeNull();
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).not.toContain(encodeURIComponent(TOKEN));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Max-Age=3600/);
    const withCookie = () => request(s.url, { path: '/api/board', headers: { host: host(), cookie: cookie as string } });
    expect((await withCookie()).status).toBe(200);
    // Two sign-ins get two different ids.
    expect((await login(s)).cookie).not.toBe(cookie);
    clock.advance(3600 * 1000 - 1);
    expect((await withCookie()).status).toBe(200);
    clock.advance(1);
    expect((await withCookie()).status).toBe(401);
    // A made-up id of the right shape is refused.
    expect((await request(s.url, { path: '/api/board', headers: { host: host(), cookie: `factory_session=${'A'.repeat(43)}` } })).status).toBe(401);
  });

  it('a wrong token of the same length and one of another length are refused the same way', async () => {
    const s = await start();
    const sameLength = 'x'.repeat(TOKEN.length);
    const answers = await Promise.all(
      [sameLength, 'x', `${TOKEN}x`, TOKEN.slice(0, -1)].map(async (t) => {
        const r = await request(s.url, { path: '/api/board', headers: { host: host(), authorization: `Bearer ${t}` } });
        return { status: r.status, body: r.body, auth: r.headers['www-authenticate'] };
      }),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]?.status).toBe(401);
    const logins = await Promise.all([sameLength, 'x'].map((t) => login(s, t)));
    expect(logins.map((l) => [l.status, l.cookie])).toEqual([
      [401, null],
      [401, null],
    ]);
    expect((await request(s.url, { path: '/api/board', headers: { host: host(), authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('the dashboard signs in through the form in headless Chromium, with no token in any URL', async () => {
    const s = await start();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const urls: string[] = [];
      page.on('request', (r) => urls.push(r.url()));
      await page.goto(s.url);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('input[name="token"]', TOKEN);
      await Promise.all([page.waitForURL(`${s.url}/`), page.click('button[type="submit"]')]);
      await page.waitForSelector('#live.on');
      const cookies = await page.context().cookies();
      expect(cookies.map((c) => c.name)).toEqual(['factory_session']);
      expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(cookies[0]?.value).not.toContain(TOKEN);
      expect(urls.length).toBeGreaterThan(3);
      expect(urls.filter((u) => u.includes(TOKEN) || u.includes(encodeURIComponent(TOKEN)))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('factory-mcp http prints the dashboard URL without the token', async () => {
    const child = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', path.join(dir, 'cli.db')], { env: { ...process.env, FACTORY_HTTP_TOKEN: TOKEN, FACTORY_LOG: 'info' } });
    try {
      let out = '';
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), /dashboard at/.test(out) && resolve())));
      await new Promise((r) => setTimeout(r, 100));
      expect(out).toMatch(/dashboard at http:\/\/127\.0\.0\.1:\d+\//);
      expect(out).not.toContain(TOKEN);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
