import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { harness, testEnv, type Agent, type Harness } from '../helpers/server.js';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { FakeGitHub } from '../fakes/github.js';
import { Store } from '../../src/core/store.js';
import { runCli, stdioAgent } from '../helpers/stdio.js';

/**
 * merge_phase against the fake GitHub through the real octokit client, on a real git repository
 * and a real SQLite file: each gate blocking on its own, Ship and Show merging with squash at the
 * head SHA, GitHub's refusals, Ask waiting for a human in the open.
 */

interface Merge {
  merged: boolean;
  pr?: number;
  head?: string;
  merge_commit?: string;
  level?: string;
  size?: { lines: number; tier: string };
  gates: { gate: string; state: string; detail: string }[];
  reason?: string;
  completed?: boolean;
  next?: { claimed: boolean };
  tickets?: { status: string; reason?: string };
  message: string;
}

const PERSONAS = ['chucky', 'oss_killer', 'archi', 'saul'] as const;
const BRANCH = 'factory/M-1-login';
const REPO = 'acme/app';

let gh: FakeGitHub;
let repo: TestRepo;
const sha: Record<string, string> = {};
let h: Harness | undefined;

beforeAll(async () => {
  gh = await new FakeGitHub().start();
  repo = makeRepo();
  sha.base = repo.commit('base', { 'README.md': '# app\n', 'src/app.ts': 'const a = 1;\n' });
  repo.git('checkout', '-q', '-b', 'docs');
  sha.docs = repo.commit('docs', { 'README.md': '# app\n\nHow to run it.\n' });
  repo.git('checkout', '-q', '-b', 'tests', sha.base);
  sha.tests = repo.commit('tests', { 'test/app.test.ts': "it('works', () => {});\n" });
  sha.tests2 = repo.commit('more tests', { 'test/b.test.ts': "it('b', () => {});\n" });
  repo.git('checkout', '-q', '-b', 'auth', sha.base);
  sha.auth = repo.commit('auth', { 'src/auth/login.ts': 'const check = (u) => u.ok;\n' });
  repo.git('checkout', '-q', 'main');
});

afterAll(async () => {
  await gh.stop();
  repo.remove();
});

afterEach(async () => {
  await h?.close();
  h = undefined;
  gh.requests.length = 0;
  gh.pulls.clear();
  gh.reviews.clear();
  gh.mergeRefusals.clear();
});

const tree = (commit: string) => repo.git('rev-parse', `${commit}^{tree}`).trim();
/** The requests merge_phase made: not classify_change's background publishing of the gates (a lookup of the checked-out branch's PR, statuses). */
const asked = () => gh.requests.filter((r) => !(r.path === `/repos/${REPO}/pulls` && r.query.head === 'acme:main') && !r.path.startsWith(`/repos/${REPO}/statuses/`));
const writes = () => asked().filter((r) => r.method !== 'GET');

/** A claimed phase M/1 whose PR #7 has `head` at its tip, with its DoD run and classification as the test asks. */
async function setup(head: string, opts: { config?: Record<string, unknown>; dod?: 'pass' | 'fail' | 'other_tree' | 'none'; classify?: boolean } = {}) {
  h = await harness({ config: { github: { owner: 'acme', repo: 'app', reviewers: ['alice', 'acme/core'] }, ...opts.config }, env: testEnv(gh.env()) });
  const a = await h.connect({ root: repo.dir });
  await a.call('plan_mega', {
    key: 'M',
    title: 'Login',
    phases: [
      { id: 1, name: 'login', points: 3, tickets: ['ENG-1'] },
      { id: 2, name: 'next' },
    ],
  });
  const claim = await a.call<{ token: string }>('claim_phase', { mega: 'M', phase: 1 });
  const at = { mega: 'M', phase: 1, token: claim.token };
  const dod = opts.dod ?? 'pass';
  if (dod !== 'none') {
    const instance = ((await h.store.sql.prepare("SELECT owner FROM phases WHERE mega = 'M' AND id = '1'").get()) as { owner: string }).owner;
    await h.store.tx(() =>
      h!.store.dod.record(h!.clock.now, {
        instance,
        mega: 'M',
        phase: '1',
        tree: tree(dod === 'other_tree' ? sha.base! : head),
        base: sha.base!,
        passed: dod !== 'fail',
        partial: false,
        score: dod === 'fail' ? '9/10' : '10/10',
        cached: false,
        checks: [],
      }),
    );
  }
  if (opts.classify !== false) await a.call('classify_change', { ...at, cwd: repo.dir, head });
  gh.pulls.set(REPO, [{ number: 7, head: { ref: BRANCH, sha: head } }]);
  gh.requests.length = 0;
  return { a, at };
}

const merge = (a: Agent, at: object, extra: object = {}) => a.call<Merge>('merge_phase', { ...at, ...extra });
const gate = (m: Merge, g: string) => m.gates.find((x) => x.gate === g);
const phaseOwner = async () => (await h!.store.sql.prepare("SELECT owner, completed_at FROM phases WHERE mega = 'M' AND id = '1'").get()) as { owner: string | null; completed_at: number | null };

describe('merge_phase: Ship and Show merge at the head SHA', () => {
  it('Ship: squash-merged now with the head SHA, the phase completed, the log names the PR and merge commit; no labels', async () => {
    const { a, at } = await setup(sha.docs!);
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: true, pr: 7, head: sha.docs, level: 'ship', size: { lines: 2, tier: 's' }, completed: true });
    expect(m.gates.map((g) => `${g.gate}:${g.state}`)).toEqual(['kill_switch:pass', 'autonomy:pass', 'dod:pass', 'change:pass', 'council:pass', 'files:pass']);
    const put = writes();
    expect(put.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /repos/acme/app/pulls/7/merge']);
    expect(put[0]!.body).toEqual({ merge_method: 'squash', sha: sha.docs });
    expect(m.merge_commit).toBe(gh.pulls.get(REPO)![0]!.merge_commit_sha);
    const log = await h!.store.sql.prepare<[], { kind: string; data: string }>("SELECT kind, data FROM operations WHERE kind IN ('merge', 'complete') ORDER BY seq").all();
    expect(log.map((l) => l.kind)).toEqual(['merge', 'complete']);
    expect(JSON.parse(log[0]!.data)).toMatchObject({ pr: 7, merge_commit: m.merge_commit, head: sha.docs, level: 'ship', size: { tier: 's' } });
    expect((await phaseOwner()).completed_at).not.toBeNull();
    // The Linear hook ran (onMerged): without LINEAR_API_KEY the answer says the ticket was not moved.
    expect(m).toMatchObject({ tickets: { status: 'not_updated', reason: 'LINEAR_API_KEY not set' } });
    expect(m.message).toContain('Linear tickets not updated (LINEAR_API_KEY not set)');
  });

  it('Show: squash-merged now, then labelled "show" with the configured reviewers requested; chain claims the next phase', async () => {
    const { a, at } = await setup(sha.tests!);
    const m = await merge(a, at, { chain: true, pr: BRANCH }); // the PR found by its head branch
    expect(m).toMatchObject({ merged: true, level: 'show', completed: true, next: { claimed: true } });
    expect(writes().map((r) => [`${r.method} ${r.path}`, r.body])).toEqual([
      ['PUT /repos/acme/app/pulls/7/merge', { merge_method: 'squash', sha: sha.tests }],
      ['POST /repos/acme/app/issues/7/labels', { labels: ['show'] }],
      ['POST /repos/acme/app/pulls/7/requested_reviewers', { reviewers: ['alice'], team_reviewers: ['core'] }],
    ]);
    expect(m.message).toContain('labelled #7 "show", requested alice, acme/core');
  });
});

describe('merge_phase: each gate blocks on its own, and nothing is written to GitHub', () => {
  it('DoD failing on the head → dod_not_passed', async () => {
    const { a, at } = await setup(sha.docs!, { dod: 'fail' });
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'dod_not_passed' });
    expect(gate(m, 'dod')?.detail).toMatch(/scored 9\/10/);
    expect(writes()).toEqual([]);
    expect((await phaseOwner()).completed_at).toBeNull();
  });

  it('a passing DoD of another tree (not the PR head) does not count; nor does no run at all', async () => {
    const { a, at } = await setup(sha.docs!, { dod: 'other_tree' });
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'dod_not_passed' });
    expect(gate(m, 'dod')?.detail).toMatch(/no full check_dod run of M\/1 on the tree of the PR's head/);
    expect(writes()).toEqual([]);
  });

  it('no classification of the head, or one measured from a base the agent chose → not_classified', async () => {
    const { a, at } = await setup(sha.tests2!, { classify: false });
    expect(await merge(a, at)).toMatchObject({ merged: false, reason: 'not_classified' });
    // Only the last commit (tests, show) measured from tests~: not the PR's range from its merge base.
    await a.call('classify_change', { ...at, cwd: repo.dir, head: sha.tests2, base: sha.tests });
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'not_classified' });
    expect(gate(m, 'change')?.detail).toMatch(/not from the merge base/);
    expect(writes()).toEqual([]);
  });

  it('a council reject standing on the phase → council_required', async () => {
    const { a, at } = await setup(sha.docs!);
    const reviews = PERSONAS.map((persona) => ({ persona, score: 3, rationale: 'no', concerns: ['risk'], adjustments: [] }));
    await a.call('run_council', { subject: { title: 'login', description: 'the login form', mega: 'M', phase: 1 }, reviews });
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'council_required' });
    expect(gate(m, 'council')).toMatchObject({ state: 'fail', detail: expect.stringMatching(/rejected M\/1/) });
    expect(writes()).toEqual([]);
  });

  it('kill switch on (switched on after the claim) → kill_switch before any GitHub request', async () => {
    const { a, at } = await setup(sha.docs!);
    const kill = path.join(repo.dir, '.factory', 'KILL');
    fs.mkdirSync(path.dirname(kill), { recursive: true });
    fs.writeFileSync(kill, '');
    try {
      const m = await merge(a, at);
      expect(m).toMatchObject({ merged: false, reason: 'kill_switch' });
      expect(gate(m, 'kill_switch')?.state).toBe('fail');
      expect(asked()).toEqual([]);
    } finally {
      fs.rmSync(kill);
    }
  });

  it('autonomy 2 → a dry run that says what it would do and makes no write request', async () => {
    const { a, at } = await setup(sha.tests!, { config: { autonomy: 2 } });
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'dry_run', level: 'show' });
    expect(m.message).toMatch(/would squash-merge #7 at .* and label it "show", requesting alice, acme\/core/);
    expect(asked().length).toBeGreaterThan(0);
    expect(writes()).toEqual([]);
    expect((await phaseOwner()).completed_at).toBeNull();
  });

  it('a PR that changes a file another live claim reserved → files_reserved, naming it (the hook can be skipped; this cannot)', async () => {
    const { a, at } = await setup(sha.docs!);
    const b = await h!.connect({ root: repo.dir });
    expect(await b.call('claim_phase', { mega: 'M', phase: 2, files: ['README.md'] })).toMatchObject({ claimed: true });
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'files_reserved' });
    expect(gate(m, 'files')).toMatchObject({ state: 'fail' });
    expect(gate(m, 'files')!.detail).toContain('README.md (reserved as "README.md" by M/2');
    expect(writes()).toEqual([]);
    expect((await phaseOwner()).completed_at).toBeNull();
  });

  it('a PR aimed at another branch than the default → wrong_base, nothing merged', async () => {
    const { a, at } = await setup(sha.docs!);
    gh.pulls.set(REPO, [{ number: 7, head: { ref: BRANCH, sha: sha.docs! }, base: { ref: 'release-1' } }]);
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'wrong_base' });
    expect(m.message).toContain('targets "release-1", not the default branch "main"');
    expect(writes()).toEqual([]);
  });

  it('a token from another session → not_owner, before any GitHub request', async () => {
    const { at } = await setup(sha.docs!);
    const b = await h!.connect({ root: repo.dir });
    expect(await merge(b, at)).toMatchObject({ merged: false, reason: 'not_owner' });
    expect(asked()).toEqual([]);
  });
});

describe("merge_phase: GitHub's refusals come back as merged:false with GitHub's words", () => {
  for (const [status, message] of [
    [405, 'Required status check "ci/test" is failing.'],
    [409, 'Head branch was modified. Review and try the merge again.'],
  ] as const) {
    it(`${status}`, async () => {
      const { a, at } = await setup(sha.docs!);
      gh.mergeRefusals.set(`${REPO}#7`, { status, message });
      const m = await merge(a, at);
      expect(m).toMatchObject({ merged: false, reason: 'github_refused', pr: 7 });
      expect(m.message).toContain(`${status} ${message}`);
      expect(await phaseOwner()).toMatchObject({ completed_at: null, owner: expect.any(String) });
      expect(await h!.store.sql.prepare("SELECT count(*) AS n FROM operations WHERE kind = 'merge'").get()).toEqual({ n: 0 });
    });
  }
});

describe('merge_phase: Ask waits in the open, then merges after a human approves', () => {
  it('labels "ask" and requests reviewers; an approval by the token\'s own user does not count; one by another user does', async () => {
    const { a, at } = await setup(sha.auth!);
    const m1 = await merge(a, at);
    expect(m1).toMatchObject({ merged: false, reason: 'awaiting_human', level: 'ask' });
    expect(gate(m1, 'change')?.state).toBe('wait');
    expect(writes().map((r) => [`${r.method} ${r.path}`, r.body])).toEqual([
      ['POST /repos/acme/app/issues/7/labels', { labels: ['ask'] }],
      ['POST /repos/acme/app/pulls/7/requested_reviewers', { reviewers: ['alice'], team_reviewers: ['core'] }],
    ]);

    gh.requests.length = 0;
    gh.reviews.set(`${REPO}#7`, [{ user: gh.tokenUser, state: 'APPROVED' }]);
    const m2 = await merge(a, at);
    expect(m2).toMatchObject({ merged: false, reason: 'awaiting_human' });
    expect(gate(m2, 'change')?.detail).toContain(`by anyone but ${gh.tokenUser}`);
    expect(writes().some((r) => r.method === 'PUT')).toBe(false);

    gh.requests.length = 0;
    gh.reviews.set(`${REPO}#7`, [
      { user: gh.tokenUser, state: 'APPROVED' },
      { user: 'alice', state: 'APPROVED' },
    ]);
    const m3 = await merge(a, at);
    expect(m3).toMatchObject({ merged: true, level: 'ask', completed: true });
    expect(gate(m3, 'change')).toMatchObject({ state: 'pass', detail: expect.stringContaining('by alice') });
    expect(writes().map((r) => [`${r.method} ${r.path}`, r.body])).toEqual([['PUT /repos/acme/app/pulls/7/merge', { merge_method: 'squash', sha: sha.auth }]]);
  });

  it('an approval of an earlier commit does not count', async () => {
    const { a, at } = await setup(sha.auth!);
    gh.reviews.set(`${REPO}#7`, [{ user: 'alice', state: 'APPROVED', commit_id: sha.base! }]);
    const m = await merge(a, at);
    expect(m).toMatchObject({ merged: false, reason: 'awaiting_human' });
    expect(gate(m, 'change')?.detail).toContain('approvals of earlier commits do not count (alice)');
  });
});

describe('real processes: factory-mcp merge in a CLI session, and a stdio agent', () => {
  const cfg = () => path.join(repo.dir, 'factory.config.json');
  const dbOf = (name: string) => path.join(repo.dir, '.factory', `${name}.db`);
  beforeEach(() => fs.writeFileSync(cfg(), JSON.stringify({ github: { owner: 'acme', repo: 'app' } })));
  afterEach(() => fs.rmSync(cfg(), { force: true }));

  /** A passing full DoD run of E/1 on the tree of `head`, written to the database file the processes use. */
  async function passDod(db: string, head: string): Promise<void> {
    const store = await Store.open(db, { leaseSeconds: 7200 });
    try {
      const { owner } = (await store.sql.prepare("SELECT owner FROM phases WHERE mega = 'E'").get()) as { owner: string };
      await store.tx(() =>
        store.dod.record(Date.now(), { instance: owner, mega: 'E', phase: '1', tree: tree(head), base: sha.base!, passed: true, partial: false, score: '10/10', cached: false, checks: [] }),
      );
    } finally {
      await store.close();
    }
  }

  it("session start → claim → classify → merge, each its own process; another session's merge with the token is refused; bad input exits 2", async () => {
    const db = dbOf('merge-cli');
    const env = { ...testEnv(gh.env()), FACTORY_DB: db, FACTORY_LOG: 'silent', FACTORY_SESSION: '' };
    const cli = async (args: string[], key = '') => {
      const r = await runCli([...args, '--json'], { cwd: repo.dir, env: { ...env, FACTORY_SESSION: key } });
      return { ...r, out: r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : {} };
    };
    const start = async () => /FACTORY_SESSION=(fs_[A-Za-z0-9_-]+)/.exec((await runCli(['session', 'start'], { cwd: repo.dir, env })).stdout)![1]!;
    const key = await start();
    await runCli(['call', 'plan_mega', '--args', JSON.stringify({ key: 'E', title: 'e2e', phases: [{ id: 1, name: 'docs' }] })], { cwd: repo.dir, env });
    const claim = await cli(['claim', 'E', '--phase', '1'], key);
    expect(claim.exitCode, claim.stderr).toBe(0);
    const token = claim.out.token as string;
    const cls = await cli(['call', 'classify_change', '--args', JSON.stringify({ mega: 'E', phase: 1, token, cwd: repo.dir, head: sha.docs })], key);
    expect(cls.out).toMatchObject({ level: 'ship', stored: true });
    await passDod(db, sha.docs!);
    gh.pulls.set(REPO, [{ number: 9, head: { ref: 'factory/E-1-docs', sha: sha.docs! } }]);
    gh.requests.length = 0;

    // Another CLI session holding the token gets nothing, and GitHub is not asked.
    const other = await cli(['merge', '--token', token, '--mega', 'E', '--phase', '1'], await start());
    expect(other.exitCode).toBe(1);
    expect(other.out).toMatchObject({ merged: false, reason: 'not_owner' });
    expect(asked()).toEqual([]);
    const bad = await cli(['merge', '--token', token, '--pr', 'no such branch'], key);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/pr/);

    const m = await cli(['merge', '--token', token], key);
    expect(m.exitCode, m.stderr).toBe(0);
    expect(m.out).toMatchObject({ merged: true, pr: 9, level: 'ship', completed: true });
    expect(writes().map((r) => [`${r.method} ${r.path}`, r.body])).toEqual([['PUT /repos/acme/app/pulls/9/merge', { merge_method: 'squash', sha: sha.docs }]]);
  });

  it('a real stdio agent: refused on the DoD gate until a passing run on the head, then merged', async () => {
    const db = dbOf('merge-stdio');
    const a = await stdioAgent(db, { cwd: repo.dir, env: { ...(testEnv(gh.env()) as Record<string, string>) } });
    try {
      await a.call('plan_mega', { key: 'E', title: 'e2e', phases: [{ id: 1, name: 'docs' }] });
      const claim = await a.call<{ token: string }>('claim_phase', { mega: 'E', phase: 1 });
      const at = { mega: 'E', phase: 1, token: claim.token };
      await a.call('classify_change', { ...at, cwd: repo.dir, head: sha.docs });
      gh.pulls.set(REPO, [{ number: 9, head: { ref: 'factory/E-1-docs', sha: sha.docs! } }]);
      expect(await a.call<Merge>('merge_phase', at)).toMatchObject({ merged: false, reason: 'dod_not_passed', pr: 9 });
      expect(writes()).toEqual([]);
      await passDod(db, sha.docs!);
      const m = await a.call<Merge>('merge_phase', at);
      expect(m).toMatchObject({ merged: true, pr: 9, level: 'ship', completed: true });
      expect(writes().map((r) => [`${r.method} ${r.path}`, r.body])).toEqual([['PUT /repos/acme/app/pulls/9/merge', { merge_method: 'squash', sha: sha.docs }]]);
    } finally {
      await a.close();
    }
  });
});
