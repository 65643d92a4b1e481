/**
 * The human gate checks the ack token's value, not just its presence. Before, `factory-mcp ack`
 * accepted any FACTORY_ACK_TOKEN, and an agent could start its own `factory-mcp http` with a token
 * of its choosing on the same database and acknowledge its own Ask change from there. Now a salted
 * hash of the human's token is enrolled (first enrollment wins) and every ack path compares with it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, GIT_ENV, type TestRepo } from '../helpers/git.js';
import { listeningUrl, request } from '../helpers/http.js';
import { CLI, runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

const HUMAN = 'human-only-ack-token-4f9c2d';
const AGENT = 'agent-chosen-token-123456';

let repo: TestRepo | null = null;
const agents: StdioAgent[] = [];
const servers: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await Promise.all(
    servers.splice(0).map((c) => {
      if (c.exitCode !== null) return Promise.resolve();
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      return gone;
    }),
  );
  repo?.remove();
  repo = null;
});

/** A repository with a claimed phase whose change was classified Ask; the change's id. */
async function askChange(): Promise<{ db: string; id: number }> {
  repo = makeRepo();
  const db = path.join(repo.dir, '.factory', 'factory.db');
  const a = await stdioAgent(db, { cwd: repo.dir, env: { FACTORY_ACK_TOKEN: '' } });
  agents.push(a);
  await a.call('plan_mega', { key: 'ACK-1', title: 'Auth', phases: [{ id: 1, name: 'login', points: 3 }] });
  const { token } = await a.call<{ token: string }>('claim_phase', { mega: 'ACK-1', phase: 1 });
  expect(await a.call('classify_change', { mega: 'ACK-1', phase: 1, token, files: [{ path: 'src/auth/login.ts', additions: 40, deletions: 2 }] })).toMatchObject({ level: 'ask', stored: true });
  const id = (new Database(db, { readonly: true }).prepare('SELECT max(id) AS id FROM classifications').get() as { id: number }).id;
  return { db, id };
}

function cli(db: string, args: string[], token: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' };
  delete env.FACTORY_ACK_TOKEN;
  if (token !== undefined) env.FACTORY_ACK_TOKEN = token;
  return runCli(['ack', ...args], { cwd: repo!.dir, env });
}

function acks(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM acks').get() as { n: number }).n;
  } finally {
    d.close();
  }
}

async function serve(db: string, env: Record<string, string>, args: string[] = []): Promise<string> {
  const c = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', db, ...args], { cwd: repo!.dir, env: { ...GIT_ENV, FACTORY_LOG: 'silent', ...env } });
  servers.push(c);
  return listeningUrl(c);
}

const postAck = (url: string, bearer: string, id: number) =>
  request(url, { method: 'POST', path: '/api/ack', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'change', ref: id }) });

describe('the ack token is checked against the enrolled one', () => {
  it('the CLI refuses a made-up token, before and after the human enrolls, and the first enrollment wins', async () => {
    const { db, id } = await askChange();
    const early = await cli(db, ['change', String(id)], AGENT);
    expect(early.exitCode).toBe(2);
    expect(early.stderr).toMatch(/FACTORY_ACK_TOKEN.*no ack token is enrolled/);
    expect(acks(db)).toBe(0);

    expect(await cli(db, ['--enroll'], HUMAN)).toMatchObject({ exitCode: 0, stdout: 'ack token enrolled: acknowledgements now need it\n' });
    const raw = fs.readFileSync(db).toString('latin1') + (fs.existsSync(`${db}-wal`) ? fs.readFileSync(`${db}-wal`).toString('latin1') : '');
    expect(raw).not.toContain(HUMAN); // a salted hash, never the token

    const reEnroll = await cli(db, ['--enroll'], AGENT);
    expect(reEnroll.exitCode).toBe(2);
    expect(reEnroll.stderr).toMatch(/another ack token was enrolled/);
    const forged = await cli(db, ['change', String(id)], AGENT);
    expect(forged.exitCode).toBe(2);
    expect(forged.stderr).toMatch(/is not the ack token enrolled/);
    expect(acks(db)).toBe(0);

    const human = await cli(db, ['change', String(id)], HUMAN);
    expect(human.stderr).toBe('');
    expect(human.exitCode).toBe(0);
    expect(acks(db)).toBe(1);
  });

  it("an agent's own HTTP server acknowledges nothing once the human's token is enrolled; the human's server does", async () => {
    const { db, id } = await askChange();
    const humanUrl = await serve(db, { FACTORY_ACK_TOKEN: HUMAN }); // the first server enrolls its token
    const agentUrl = await serve(db, { FACTORY_ACK_TOKEN: AGENT });
    const own = await postAck(agentUrl, AGENT, id);
    expect(own.status).toBe(403);
    expect(own.body).toMatch(/not the one enrolled/);
    const httpOnly = await serve(db, { FACTORY_HTTP_TOKEN: 'agents-http-token-abcdef' });
    const viaHttpToken = await postAck(httpOnly, 'agents-http-token-abcdef', id);
    expect(viaHttpToken.status).toBe(403);
    expect(viaHttpToken.body).toMatch(/ack token is enrolled/);
    expect(acks(db)).toBe(0);

    const readOnly = await serve(db, { FACTORY_ACK_TOKEN: HUMAN }, ['--read-only']);
    const fromReadOnly = await postAck(readOnly, HUMAN, id);
    expect(fromReadOnly.status).toBe(403); // was a bare 500: the write failed on the read-only database
    expect(fromReadOnly.body).toMatch(/read-only/);
    expect(acks(db)).toBe(0);

    const human = await postAck(humanUrl, HUMAN, id);
    expect(human.status).toBe(200);
    expect(acks(db)).toBe(1);
  });
});
