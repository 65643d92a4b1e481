import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { httpAgent, request, type HttpAgent } from '../helpers/http.js';
import { tempDir } from '../helpers/server.js';
import { CLI, stdioAgent } from '../helpers/stdio.js';

/** The secrets in the server's environment: the agent holds only the HTTP token. */
const SECRETS = {
  FACTORY_ACK_TOKEN: 'human-only-ack-7f3a9c2e51',
  FACTORY_HTTP_TOKEN: 'agents-http-token-4b8d1e',
  GITHUB_TOKEN: 'ghp_server0github0token0x9',
  LINEAR_API_KEY: 'lin_api_server0key0000x7',
  MY_API_SECRET: 'my-api-secret-value-0x55',
};
const NAMES = Object.keys(SECRETS) as (keyof typeof SECRETS)[];

/** A DoD command an agent wrote: prints every secret it can see, as error lines so they make the check's detail. */
const PRINT_ENV = `for (const k of ${JSON.stringify(NAMES)}) console.log('error ' + k + '=' + process.env[k]); process.exit(1)`;

let server: ChildProcess | null = null;
let log = '';
let repo: TestRepo | null = null;
let dbDir: string | null = null;
const agents: HttpAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await stopServer();
  repo?.remove();
  if (dbDir) fs.rmSync(dbDir, { recursive: true, force: true });
  repo = null;
  dbDir = null;
});

async function stopServer(): Promise<void> {
  const s = server;
  server = null;
  if (!s || s.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    s.once('exit', () => resolve());
    s.kill('SIGTERM');
  });
}

/** `factory-mcp http` as a real process in the repository, with the secrets in its environment (and logging on). */
async function startServer(cwd: string, db: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...SECRETS };
  delete env.FACTORY_LOG;
  delete env.FACTORY_DB;
  const child = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', db], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString('utf8')));
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /MCP at (http:\/\/[^/\s]+)\/mcp/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`factory-mcp http exited with ${code}: ${log}`)));
  });
}

/** The dashboard sign-in with the HTTP token (what an agent holding it can do too): the session cookie. */
async function signIn(url: string): Promise<string> {
  const login = await request(url, {
    method: 'POST',
    path: '/login',
    headers: { host: new URL(url).host, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${SECRETS.FACTORY_HTTP_TOKEN}`,
  });
  return /^factory_session=[^;]+/.exec(String(login.headers['set-cookie']))?.[0] as string;
}

function dumpDb(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM "${t.name}"`).all()));
  } finally {
    db.close();
  }
}

function expectNoSecret(where: string, text: string): void {
  for (const k of NAMES) expect(text.includes(SECRETS[k]), `${k} in ${where}`).toBe(false);
}

describe('secrets never reach what an agent can read (issue 12, finding 1)', () => {
  it('a DoD command that prints its environment sees no secret; the agent cannot lift the ack token from /api/dod and open its rejected council', async () => {
    repo = makeRepo();
    repo.commit('config', {
      'factory.config.json': JSON.stringify({
        dod: {
          pass_env: ['MY_API_SECRET'],
          components: [
            {
              name: 'app',
              commands: {
                compiles: [process.execPath, '-e', PRINT_ENV],
                // passes only when the name listed in dod.pass_env reaches the command with its value
                format: [
                  process.execPath,
                  '-e',
                  `process.exit(require('crypto').createHash('sha256').update(process.env.MY_API_SECRET ?? '').digest('hex') === '${createHash('sha256').update(SECRETS.MY_API_SECRET).digest('hex')}' ? 0 : 1)`,
                ],
              },
            },
          ],
        },
      }),
    });
    dbDir = tempDir('factory-sec-db-');
    const db = path.join(dbDir, 'factory.db');
    const url = await startServer(repo.dir, db);
    const host = new URL(url).host;
    const agentAuth = { host, authorization: `Bearer ${SECRETS.FACTORY_HTTP_TOKEN}` };

    const a = await httpAgent(url, { token: SECRETS.FACTORY_HTTP_TOKEN });
    agents.push(a);
    await a.call('plan_mega', { key: 'S-1', title: 'secrets', phases: [{ id: 1, name: 'big one', points: 8 }] });
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 2, rationale: 'too risky', concerns: ['scope'], adjustments: [] }));
    const council = await a.call<{ verdict: string; council_id: number }>('run_council', { subject: { title: 'Big one', description: 'rewrite everything', mega: 'S-1', phase: 1 }, reviews });
    expect(council.verdict).toBe('reject');
    expect(await a.call('claim_phase', { mega: 'S-1', phase: 1 })).toMatchObject({ claimed: false, reason: 'council_required' });

    // The agent's DoD command dumps its environment into the check's detail.
    const dod = await a.call<{ checks: { id: string; status: string; detail: string }[] }>('check_dod', { mega: 'S-1', phase: 1, only: ['compiles', 'format'] });
    const compiles = dod.checks.find((c) => c.id === 'compiles');
    expect(compiles?.status).toBe('fail');
    for (const k of ['FACTORY_ACK_TOKEN', 'FACTORY_HTTP_TOKEN', 'GITHUB_TOKEN', 'LINEAR_API_KEY']) expect(compiles?.detail).toContain(`${k}=undefined`);
    // the name listed in dod.pass_env does pass (format checks its value), and its value is redacted from the output
    expect(dod.checks.find((c) => c.id === 'format')).toMatchObject({ status: 'pass' });
    expect(compiles?.detail).toContain('MY_API_SECRET=[redacted:MY_API_SECRET]');

    // The agent reads what the dashboard serves...
    const answers = [JSON.stringify(dod)];
    for (const p of ['/api/dod', '/api/operations', '/api/councils', '/api/changes', '/api/metrics']) {
      const r = await request(url, { path: p, headers: agentAuth });
      expect(r.status, p).toBe(200);
      answers.push(r.body);
    }
    const dodApi = answers[1] as string;
    expect(dodApi).toContain('FACTORY_ACK_TOKEN=undefined');
    for (const [i, text] of answers.entries()) expectNoSecret(`answer ${i}`, text);

    // ...and tries what it found as the human's token: refused, nothing written, the gate holds.
    const lifted = /FACTORY_ACK_TOKEN=([^\s|]+)/.exec(dodApi)?.[1] ?? '';
    const ackBody = JSON.stringify({ kind: 'council', ref: council.council_id, note: 'self-approved' });
    const attempt = await request(url, {
      method: 'POST',
      path: '/api/ack',
      headers: { host, 'content-type': 'application/json', cookie: await signIn(url), authorization: `Bearer ${lifted}` },
      body: ackBody,
    });
    expect(attempt.status).toBe(401);
    const withOwn = await request(url, { method: 'POST', path: '/api/ack', headers: { ...agentAuth, 'content-type': 'application/json' }, body: ackBody });
    expect(withOwn.status).toBe(401);
    expect(await a.call('claim_phase', { mega: 'S-1', phase: 1 })).toMatchObject({ claimed: false, reason: 'council_required' });
    expect(JSON.parse((await request(url, { path: '/api/councils', headers: agentAuth })).body).councils[0]).toMatchObject({ acknowledged: false });

    // Nothing of any secret is stored (DoD runs, cache, council reports, operations log) or logged.
    await stopServer();
    expectNoSecret('the database', dumpDb(db));
    expect(log).toMatch(/serving MCP/); // logging was on
    expectNoSecret('the log', log);
  });

  it('the same request with the real token (the human) does open the gate: the attack above failed only for want of the token', async () => {
    repo = makeRepo();
    dbDir = tempDir('factory-sec-db-');
    const url = await startServer(repo.dir, path.join(dbDir, 'factory.db'));
    const host = new URL(url).host;
    const a = await httpAgent(url, { token: SECRETS.FACTORY_HTTP_TOKEN });
    agents.push(a);
    await a.call('plan_mega', { key: 'S-2', title: 'secrets', phases: [{ id: 1, name: 'big one', points: 8 }] });
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 2, rationale: 'too risky', concerns: ['scope'], adjustments: [] }));
    const council = await a.call<{ council_id: number }>('run_council', { subject: { title: 'Big one', description: 'rewrite everything', mega: 'S-2', phase: 1 }, reviews });
    const ok = await request(url, {
      method: 'POST',
      path: '/api/ack',
      headers: { host, 'content-type': 'application/json', cookie: await signIn(url), authorization: `Bearer ${SECRETS.FACTORY_ACK_TOKEN}` },
      body: JSON.stringify({ kind: 'council', ref: council.council_id }),
    });
    expect(ok.status).toBe(200);
    expect(await a.call('claim_phase', { mega: 'S-2', phase: 1 })).toMatchObject({ claimed: true });
  });

  it('the council reviewer command sees no server secret, gets what council.pass_env names, and its output is redacted from the report', async () => {
    repo = makeRepo();
    // a reviewer an agent configured: it writes every secret it can see into its rationale
    const review = `const e = process.env; console.log(JSON.stringify({ score: 3, rationale: ${JSON.stringify(NAMES)}.map((k) => k + '=' + e[k]).join(' '), concerns: ['scope'], adjustments: [] }))`;
    repo.commit('config', { 'factory.config.json': JSON.stringify({ council: { reviewer_command: [process.execPath, '-e', review], pass_env: ['MY_API_SECRET'], post_to_linear: false } }) });
    dbDir = tempDir('factory-sec-db-');
    const db = path.join(dbDir, 'factory.db');
    const a = await stdioAgent(db, { cwd: repo.dir, env: SECRETS });
    try {
      const c = await a.call<{ verdict: string; report_markdown: string }>('run_council', { subject: { title: 'Reviewed by a command', description: 'what the reviewer sees' } });
      expect(c.verdict).toBe('reject');
      for (const k of ['FACTORY_ACK_TOKEN', 'FACTORY_HTTP_TOKEN', 'GITHUB_TOKEN', 'LINEAR_API_KEY']) expect(c.report_markdown).toContain(`${k}=undefined`);
      expect(c.report_markdown).toContain('MY_API_SECRET=[redacted:MY_API_SECRET]');
      expectNoSecret('the council answer', JSON.stringify(c));
    } finally {
      await a.close();
    }
    expectNoSecret('the database', dumpDb(db));
  });
});
