import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../fakes/github.js';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Finding 7 of issue 12: complete_phase succeeded on a phase whose latest change was classified
// Ask, with no acknowledgement. Now it answers awaiting_human until a human acknowledges the
// change (dashboard, `factory-mcp ack` with the ack token) or approves the phase's pull request
// as a GitHub user other than the token's own.

let repo: TestRepo | null = null;
let gh: FakeGitHub | null = null;
const open: StdioAgent[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close().catch(() => {})));
  await gh?.stop();
  gh = null;
  repo?.remove();
  repo = null;
});

const ASK_FILES = [{ path: 'src/auth/login.ts', additions: 40, deletions: 2 }];

/** A repository on branch `feature` with pull request #7 on the fake GitHub, and an agent that claimed phase 1. */
async function start(config: Record<string, unknown> = {}): Promise<{ a: StdioAgent; db: string; token: string; at: { mega: string; phase: number; token: string } }> {
  repo = makeRepo({ branch: 'feature' });
  fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ github: { owner: 'acme', repo: 'shop' }, ...config }));
  gh = await new FakeGitHub().start();
  gh.pulls.set('acme/shop', [{ number: 7, head: { ref: 'feature', sha: repo.git('rev-parse', 'HEAD').trim() } }]);
  const db = path.join(repo.dir, '.factory', 'factory.db');
  const a = await stdioAgent(db, { cwd: repo.dir, env: { ...gh.env(), LINEAR_API_KEY: '', FACTORY_ACK_TOKEN: '' } });
  open.push(a);
  await a.call('plan_mega', { key: 'ASK-1', title: 'Login', phases: [{ id: 1, name: 'login form', points: 3 }] });
  const { token } = await a.call<{ token: string }>('claim_phase', { mega: 'ASK-1', phase: 1 });
  const at = { mega: 'ASK-1', phase: 1, token };
  return { a, db, token, at };
}

/** What a completion would change: the phase row and the operations log. */
function state(db: string): unknown {
  const d = new Database(db, { readonly: true });
  try {
    return { phase: d.prepare('SELECT owner, token, completed_at, completed_by FROM phases').all(), ops: d.prepare('SELECT count(*) AS n, max(seq) AS last FROM operations').get() };
  } finally {
    d.close();
  }
}

function ack(dir: string, db: string, id: number | 'enroll', token: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, FACTORY_DB: db };
  delete env.FACTORY_ACK_TOKEN;
  if (token) env.FACTORY_ACK_TOKEN = token;
  return runCli(['ack', ...(id === 'enroll' ? ['--enroll'] : ['change', String(id)]), '--cwd', dir], { cwd: dir, env });
}

describe('an Ask change waits for a human before complete_phase', () => {
  it('classified Ask with the claim token: awaiting_human and nothing changed; after the human ack it completes', async () => {
    const { a, db, at } = await start();
    const c = await a.call<{ level: string; stored: boolean }>('classify_change', { ...at, files: ASK_FILES });
    expect(c).toMatchObject({ level: 'ask', stored: true });
    const id = (new Database(db, { readonly: true }).prepare('SELECT max(id) AS id FROM classifications').get() as { id: number }).id;

    const before = state(db);
    const r = await a.call<{ completed: boolean; reason: string; message: string }>('complete_phase', at);
    expect(r).toMatchObject({ completed: false, reason: 'awaiting_human' });
    expect(r.message).toContain(`classification #${id}`);
    expect(r.message).toContain('ASK (auth');
    expect(r.message).toContain('dashboard');
    expect(r.message).toContain(`factory-mcp ack change ${id}`);
    expect(r.message).toContain('FACTORY_ACK_TOKEN');
    expect(r.message).toContain('other than the GITHUB_TOKEN');
    expect(state(db)).toEqual(before);

    // The agent's own shell has no ack token: refused, still waiting.
    const refused = await ack(repo!.dir, db, id, undefined);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('FACTORY_ACK_TOKEN');
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: false, reason: 'awaiting_human' });

    expect((await ack(repo!.dir, db, 'enroll', 'human-only-secret')).exitCode).toBe(0); // the human enrolls the ack token (test/security/ack-token.test.ts)
    const human = await ack(repo!.dir, db, id, 'human-only-secret');
    expect(human.stderr).toBe('');
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain(`Ask change #${id}`);
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: true });
  });

  it("an approving review by the token's own user does not count; one by another user does", async () => {
    const { a, db, at } = await start();
    expect(await a.call('classify_change', { ...at, files: ASK_FILES })).toMatchObject({ level: 'ask', stored: true });
    gh!.reviews.set('acme/shop#7', [{ user: 'factory-bot', state: 'APPROVED' }]);
    const before = state(db);
    const self = await a.call<{ completed: boolean; reason: string; message: string }>('complete_phase', at);
    expect(self).toMatchObject({ completed: false, reason: 'awaiting_human' });
    expect(self.message).toContain('pull request #7 by anyone but factory-bot');
    expect(state(db)).toEqual(before);
    // A later "changes requested" from a human overrides that human's earlier approval.
    gh!.reviews.set('acme/shop#7', [
      { user: 'factory-bot', state: 'APPROVED' },
      { user: 'alice', state: 'APPROVED' },
      { user: 'alice', state: 'CHANGES_REQUESTED' },
    ]);
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: false, reason: 'awaiting_human' });
    gh!.reviews.set('acme/shop#7', [
      { user: 'factory-bot', state: 'APPROVED' },
      { user: 'alice', state: 'COMMENTED' },
      { user: 'alice', state: 'APPROVED' },
    ]);
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: true });
    expect(gh!.requests.some((q) => q.path === '/user')).toBe(true);
  });

  it('an approval given before the agent pushed more commits does not count: only one of the head as it is now', async () => {
    const { a, db, at } = await start();
    const approved = repo!.git('rev-parse', 'HEAD').trim();
    gh!.reviews.set('acme/shop#7', [{ user: 'alice', state: 'APPROVED', commit_id: approved }]);
    // After the human approved a harmless pull request, the agent commits the risky change and pushes it.
    fs.mkdirSync(path.join(repo!.dir, 'src', 'auth'), { recursive: true });
    fs.writeFileSync(path.join(repo!.dir, 'src', 'auth', 'login.ts'), 'export const bypass = true;\n');
    repo!.git('add', '-A');
    repo!.git('commit', '-qm', 'auth: skip the password check');
    const pushed = repo!.git('rev-parse', 'HEAD').trim();
    gh!.pulls.set('acme/shop', [{ number: 7, head: { ref: 'feature', sha: pushed } }]);
    expect(await a.call('classify_change', { ...at, files: ASK_FILES })).toMatchObject({ level: 'ask', stored: true });

    const before = state(db);
    const r = await a.call<{ completed: boolean; reason: string; message: string }>('complete_phase', at);
    expect(r).toMatchObject({ completed: false, reason: 'awaiting_human' });
    expect(r.message).toContain(`at its head ${pushed.slice(0, 12)}`);
    expect(r.message).toContain('approvals of earlier commits do not count (alice)');
    expect(state(db)).toEqual(before);

    gh!.reviews.set('acme/shop#7', [
      { user: 'alice', state: 'APPROVED', commit_id: approved },
      { user: 'alice', state: 'APPROVED', commit_id: pushed },
    ]);
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: true });
  });

  it('a Ship classified after the Ask does not wave it through: complete_phase and factory/change still wait for a human', async () => {
    const { a, db, at } = await start();
    expect(await a.call('classify_change', { ...at, files: ASK_FILES })).toMatchObject({ level: 'ask', stored: true });
    const id = (new Database(db, { readonly: true }).prepare('SELECT max(id) AS id FROM classifications').get() as { id: number }).id;
    // The agent chooses what it classifies: a harmless file list, stored with its token.
    expect(await a.call('classify_change', { ...at, files: [{ path: 'README.md', additions: 1, deletions: 0 }] })).toMatchObject({ level: 'ship', stored: true });
    const before = state(db);
    const r = await a.call<{ completed: boolean; reason: string; message: string }>('complete_phase', at);
    expect(r).toMatchObject({ completed: false, reason: 'awaiting_human' });
    expect(r.message).toContain(`classification #${id}`);
    expect(state(db)).toEqual(before);
    const head = repo!.git('rev-parse', 'HEAD').trim();
    for (let i = 0; i < 200 && gh!.latestStatus(head, 'factory/change')?.description !== `ASK #${id}: waiting for a human to acknowledge it`; i++) await new Promise((res) => setTimeout(res, 50));
    expect(gh!.latestStatus(head, 'factory/change')).toMatchObject({ state: 'pending', description: `ASK #${id}: waiting for a human to acknowledge it` });

    expect((await ack(repo!.dir, db, 'enroll', 'human-only-secret')).exitCode).toBe(0);
    expect((await ack(repo!.dir, db, id, 'human-only-secret')).exitCode).toBe(0);
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: true });
  });

  it('changes.ask_blocks_complete: false lets an Ask complete (the old behaviour, by config)', async () => {
    const { a, at } = await start({ changes: { ask_blocks_complete: false } });
    expect(await a.call('classify_change', { ...at, files: ASK_FILES })).toMatchObject({ level: 'ask', stored: true });
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: true });
  });
});
