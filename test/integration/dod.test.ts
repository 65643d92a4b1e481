import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeTx } from '../../src/core/db.js';
import { processAlive } from '../../src/sessions/store.js';
import { makeSampleRepo, resetSample, sampleConfig, sh, write } from '../../bench/dod-sample.js';
import { FakeGitHub } from '../fakes/github.js';
import { harness, tempDir, testEnv, textOf, type Agent, type Harness } from '../helpers/server.js';

interface Check {
  id: string;
  status: string;
  detail: string;
  cached?: boolean;
}
interface Dod {
  passed: boolean;
  score: string;
  checks: Check[];
  cached: boolean;
  detected?: string;
  message: string;
}

const notOk = (r: Dod) =>
  r.checks
    .filter((c) => c.status !== 'pass' && c.status !== 'skip')
    .map((c) => c.id)
    .sort();
const detail = (r: Dod, id: string) => r.checks.find((c) => c.id === id)?.detail ?? '';

describe('check_dod on a real sample repository', () => {
  let h: Harness;
  let agent: Agent;
  let gh: FakeGitHub;
  let repo: { dir: string; head: string };
  const greenChecks = () => [
    { name: 'build', status: 'completed' as const, conclusion: 'success' as const },
    { name: 'test', status: 'completed' as const, conclusion: 'success' as const },
    { name: 'lint', status: 'completed' as const, conclusion: 'success' as const },
  ];
  const dod = (args: Record<string, unknown> = {}) => agent.call<Dod>('check_dod', { mega: 'M-1', phase: 1, ...args });

  beforeAll(async () => {
    repo = makeSampleRepo();
    gh = await new FakeGitHub().start();
    gh.pulls.set('acme/app', [{ number: 7, head: { ref: 'feature', sha: repo.head } }]);
    gh.checkRuns.set(repo.head, greenChecks());
    h = await harness({ config: { dod: { ...sampleConfig(), require_for_complete: true } }, env: testEnv(gh.env()) });
    agent = await h.connect({ root: repo.dir });
    await agent.call('plan_mega', {
      key: 'M-1',
      title: 'Sample',
      phases: [
        { id: 1, name: 'square' },
        { id: 2, name: 'no checkpoint' },
        { id: 3, name: 'no session' },
      ],
    });
    await agent.call('claim_phase', { mega: 'M-1', phase: 1 });
    await agent.call('claim_phase', { mega: 'M-1', phase: 2 });
    const now = h.clock.now;
    await h.store.phases.claim('t0001', { mega: 'M-1', phase: 3 }, now); // a claim by an instance that never logged SESSION-START
    const inst = await agent.server.ctx.session.ensureInstance();
    await writeTx(h.store.sql, async () => {
      await h.store.operations.append(now, { instance: inst, kind: 'checkpoint', mega: 'M-1', phase: '1', message: 'checkpoint 50%' });
      await h.store.operations.append(now, { instance: inst, kind: 'memory', message: 'decided: square via mul' });
      await h.store.operations.append(now, { instance: 't0001', kind: 'checkpoint', mega: 'M-1', phase: '3', message: 'checkpoint' });
    });
  });

  afterAll(async () => {
    await h?.close();
    await gh?.stop();
    if (repo) fs.rmSync(repo.dir, { recursive: true, force: true });
  });

  it('refuses complete_phase before a passing DoD (dod.require_for_complete)', async () => {
    const token = (await h.store.phases.claimsOf(await agent.server.ctx.session.ensureInstance())).find((p) => p.id === '1')?.token;
    const r = await agent.call<{ completed: boolean; reason?: string; message: string }>('complete_phase', { mega: 'M-1', phase: 1, token });
    expect(r).toMatchObject({ completed: false, reason: 'dod_not_passed' });
    expect(r.message).toMatch(/no check_dod run/);
  });

  it('passes all ten, with progress per check, then answers from the cache on the unchanged tree', async () => {
    const progress: string[] = [];
    const raw = (await agent.client.callTool({ name: 'check_dod', arguments: { mega: 'M-1', phase: 1 } }, CallToolResultSchema, {
      onprogress: (p) => void progress.push(`${p.progress}/${p.total} ${p.message}`),
    })) as CallToolResult;
    const r = raw.structuredContent as unknown as Dod;
    expect(notOk(r), textOf(raw)).toEqual([]);
    expect(r).toMatchObject({ passed: true, score: '10/10', cached: false });
    expect(r.checks.map((c) => c.id)).toEqual(['compiles', 'tests', 'no_regressions', 'lint', 'format', 'no_secrets', 'pr_created', 'ci_green', 'state_updated', 'session_logged']);
    expect(detail(r, 'lint')).toMatch(/1 warning\(s\), none new/); // the baseline's own `var` is not new
    expect(detail(r, 'pr_created')).toMatch(/#7/);
    const finished = progress.filter((m) => !/ running: /.test(m)); // a slow machine also gets "running: …" ticks
    expect(finished).toHaveLength(10);
    expect(finished.at(-1)).toMatch(/^10\/10 \w+: pass$/);
    expect(textOf(raw)).toMatch(/✔ compiles/);

    const again = await dod();
    expect(again).toMatchObject({ passed: true, score: '10/10', cached: true });
    expect(again.checks.slice(0, 6).every((c) => c.cached === true)).toBe(true);
    expect(await h.store.dod.last('M-1', '1')).toMatchObject({ passed: true, score: '10/10', cached: true });
    expect((await h.store.operations.recent(5)).some((o) => o.kind === 'dod' && o.phase === '1')).toBe(true);
    const res = await agent.client.readResource({ uri: 'factory://dod' });
    expect(JSON.parse((res.contents[0] as { text: string }).text)).toEqual([expect.objectContaining({ mega: 'M-1', phase: '1', passed: true, score: '10/10', failing: [] })]);
  });

  it('lets complete_phase through after the passing DoD', async () => {
    // Other phases' runs do not count for phase 1; the last run of phase 1 passed.
    const token = (await h.store.phases.claimsOf(await agent.server.ctx.session.ensureInstance())).find((p) => p.id === '1')?.token;
    const r = await agent.call<{ completed: boolean }>('complete_phase', { mega: 'M-1', phase: 1, token });
    expect(r.completed).toBe(true);
  });

  it("makes the council's mandatory adjustments part of passing until a checkpoint acknowledges them", async () => {
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({
      persona,
      score: 7,
      rationale: 'workable with changes',
      concerns: [],
      adjustments: persona === 'chucky' ? ['Add rate limiting'] : [],
    }));
    const c = await agent.call<{ verdict: string; council_id: number }>('run_council', { subject: { title: 'Phase one', description: 'the first phase', mega: 'M-1', phase: 1 }, reviews });
    expect(c.verdict).toBe('adjust');
    const open = await dod();
    expect(open).toMatchObject({ passed: false, score: '10/10' });
    expect(open.checks.at(-1)).toMatchObject({ id: `mandatory:council${c.council_id}.1`, status: 'fail' });
    expect(open.checks.at(-1)!.detail).toMatch(/requires: Add rate limiting/);
    expect(open.message).toMatch(/mandatory items open/);
    h.clock.advance(1000);
    await writeTx(h.store.sql, () => h.store.checkpoints.add('t0000', h.clock.now, { mega: 'M-1', phase: { key: '1', kind: 'int' }, done: ['add rate limiting'], next: [] }));
    const closed = await dod();
    expect(closed).toMatchObject({ passed: true, score: '10/10' });
    expect(closed.checks.at(-1)).toMatchObject({ id: `mandatory:council${c.council_id}.1`, status: 'pass' });
  });

  const cases: { name: string; failing: string[]; edit: () => void; match?: RegExp; check?: (r: Dod) => void }[] = [
    {
      name: 'a type error (the tests then do not run)',
      failing: ['compiles', 'tests', 'no_regressions'],
      edit: () => fs.appendFileSync(path.join(repo.dir, 'src/types.ts'), 'export const bad: number = "x";\n'),
      match: /TS2322/,
      check: (r) => expect(detail(r, 'tests')).toMatch(/^not run: compiles failed/),
    },
    {
      name: 'a new failing test (not a regression)',
      failing: ['tests'],
      edit: () => write(repo.dir, { 'test/fresh.test.js': "require('node:test')('fresh', () => { throw new Error('nope'); });\n" }),
      match: /exited 1: failing: fresh/,
    },
    {
      name: 'a test that regresses',
      failing: ['no_regressions', 'tests'],
      edit: () => write(repo.dir, { 'src/math.js': 'exports.add = (a, b) => a - b;\nexports.mul = (a, b) => a * b;\n' }),
      check: (r) => expect(detail(r, 'no_regressions')).toMatch(/fail now: add/),
    },
    { name: 'a lint warning', failing: ['lint'], edit: () => fs.appendFileSync(path.join(repo.dir, 'src/square.js'), 'var extra = 2;\n'), match: /1 new warning/ },
    { name: 'a formatting diff', failing: ['format'], edit: () => fs.appendFileSync(path.join(repo.dir, 'src/square.js'), 'exports.cube = 3;   \n'), match: /formatting diff/ },
    {
      name: 'an AWS-style key added',
      failing: ['no_secrets'],
      edit: () => write(repo.dir, { 'src/aws.js': 'module.exports = {\n  id: "AKIA2E0A8F3B244C9986",\n};\n' }),
      check: (r) => {
        expect(detail(r, 'no_secrets')).toMatch(/src\/aws\.js:2/);
        expect(JSON.stringify(r)).not.toContain('AKIA2E0A8F3B244C9986');
      },
    },
    { name: 'no pull request', failing: ['pr_created'], edit: () => gh.pulls.set('acme/app', []), match: /no open pull request for branch feature/ },
    {
      name: 'a red required check',
      failing: ['ci_green'],
      edit: () => gh.checkRuns.set(repo.head, [...greenChecks().slice(0, 2), { name: 'lint', status: 'completed', conclusion: 'failure' }]),
      match: /lint failed/,
    },
    { name: 'a missing required check', failing: ['ci_green'], edit: () => gh.checkRuns.set(repo.head, greenChecks().slice(0, 2)), match: /lint missing/ },
  ];

  /** Commits the edit (CI only proves committed work) and shows the fake GitHub an open PR with green CI on it. */
  const commitAndPush = () => {
    if (!sh(repo.dir, 'status', '--porcelain').trim()) return;
    sh(repo.dir, 'add', '-A');
    sh(repo.dir, 'commit', '-q', '-m', 'edit');
    const head = sh(repo.dir, 'rev-parse', 'HEAD').trim();
    gh.pulls.set('acme/app', [{ number: 7, head: { ref: 'feature', sha: head } }]);
    gh.checkRuns.set(head, greenChecks());
  };

  for (const c of cases) {
    it(`fails only ${c.failing.join(' and ')} on ${c.name}`, async () => {
      try {
        c.edit();
        commitAndPush();
        const r = await dod();
        expect(notOk(r), JSON.stringify(r.checks)).toEqual([...c.failing].sort());
        expect(r.passed).toBe(false);
        for (const id of c.failing) expect(r.checks.find((x) => x.id === id)?.status).toBe('fail');
        if (c.match) expect(detail(r, c.failing[0] as string)).toMatch(c.match);
        c.check?.(r);
      } finally {
        sh(repo.dir, 'reset', '-q', '--hard', repo.head);
        resetSample(repo.dir);
        gh.pulls.set('acme/app', [{ number: 7, head: { ref: 'feature', sha: repo.head } }]);
        gh.checkRuns.set(repo.head, greenChecks());
      }
    });
  }

  it('fails only ci_green while work is uncommitted, or the PR head is not HEAD', async () => {
    try {
      write(repo.dir, { 'NOTES.txt': 'wip\n' });
      const r = await dod();
      expect(notOk(r)).toEqual(['ci_green']);
      expect(detail(r, 'ci_green')).toMatch(/uncommitted changes/);
      sh(repo.dir, 'add', '-A');
      sh(repo.dir, 'commit', '-q', '-m', 'notes');
      const r2 = await dod();
      expect(notOk(r2)).toEqual(['ci_green']);
      expect(detail(r2, 'ci_green')).toMatch(/is not your HEAD .*push your commits/);
    } finally {
      sh(repo.dir, 'reset', '-q', '--hard', repo.head);
      resetSample(repo.dir);
    }
  });

  it('fails only state_updated for a phase without a checkpoint', async () => {
    const r = await dod({ phase: 2 });
    expect(notOk(r)).toEqual(['state_updated']);
    expect(detail(r, 'state_updated')).toMatch(/no checkpoint/);
  });

  it('fails only session_logged for a phase whose owner never logged SESSION-START', async () => {
    const r = await dod({ phase: 3 });
    expect(notOk(r)).toEqual(['session_logged']);
    expect(detail(r, 'session_logged')).toMatch(/t0001 has no SESSION-START/);
  });

  it('refuses bad input before running anything', async () => {
    const before = (await h.store.dod.latestPerPhase()).length;
    const r1 = await agent.raw('check_dod', { mega: 'M-1', phase: 99 });
    expect(r1.isError).toBe(true);
    expect(textOf(r1)).toMatch(/phase: unknown phase 99/);
    const elsewhere = tempDir();
    const r2 = await agent.raw('check_dod', { cwd: elsewhere }).finally(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
    expect(textOf(r2)).toMatch(/cwd: .*(not inside a git repository|outside the repository)/);
    const r3 = await agent.raw('check_dod', { component: 'nope' });
    expect(textOf(r3)).toMatch(/component: unknown component "nope"/);
    const r4 = await agent.raw('check_dod', { only: ['compiles', 'bogus'] });
    expect(textOf(r4)).toMatch(/only\[1\]/);
    expect((await h.store.dod.latestPerPhase()).length).toBe(before);
  });
});

describe('check_dod command limits', () => {
  let h: Harness;
  let agent: Agent;
  let dir: string;
  const node = process.execPath;

  beforeAll(async () => {
    dir = fs.realpathSync(tempDir('factory-dod-limits-'));
    sh(dir, 'init', '-q', '-b', 'main');
    write(dir, { 'a.txt': 'a\n' });
    sh(dir, 'add', '-A');
    sh(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'a');
    h = await harness({
      config: {
        dod: {
          max_output_bytes: 4096,
          components: [
            {
              name: 'edge',
              commands: {
                compiles: [node, '-e', 'setInterval(() => {}, 1000)'],
                tests: [node, '-e', 'process.stdout.write("x".repeat(5e6))'],
                lint: ['definitely-missing-linter-xyz', '--fix'],
                format: false,
              },
              after: [], // the tests run even though the build times out
              timeout_seconds: 1,
            },
            { name: 'slow', commands: { compiles: [node, '-e', "require('fs').writeFileSync('pid', String(process.pid)); setInterval(() => {}, 1000)"] }, timeout_seconds: 60 },
            {
              name: 'thresholds',
              commands: {
                tests: [node, '-e', "require('fs').writeFileSync('cov.json', JSON.stringify({ total: { lines: { pct: 71.4 } } }))"],
                lint: [node, '-e', 'console.log("a.js:1:1 warning no-console")'],
              },
              thresholds: { coverage_summary: 'cov.json', min_coverage: 80, zero_warnings: true },
            },
          ],
        },
      },
    });
    agent = await h.connect({ root: dir });
  });

  afterAll(async () => {
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stops a hanging command at its timeout, caps enormous output, names a missing command, skips what does not apply', async () => {
    const r = await agent.call<Dod>('check_dod', { component: 'edge', only: ['compiles', 'tests', 'lint', 'format'] });
    const by = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    expect(by.compiles).toMatchObject({ status: 'error' });
    expect(by.compiles?.detail).toMatch(/timed out after 1\.0s and was stopped/);
    expect(by.tests).toMatchObject({ status: 'pass' });
    expect(by.tests?.detail).toMatch(/output capped at 4096 bytes/);
    expect(by.lint).toMatchObject({ status: 'error' });
    expect(by.lint?.detail).toMatch(/command not found: definitely-missing-linter-xyz \(from dod\.components\[0\]\.commands\.lint\)/);
    expect(by.format).toMatchObject({ status: 'skip' });
    expect(r).toMatchObject({ passed: false, score: '1/3 passed, 1 skipped by config' });
  });

  it('applies component thresholds: coverage minimum, zero warnings', async () => {
    const r = await agent.call<Dod>('check_dod', { component: 'thresholds', only: ['tests', 'lint'] });
    expect(r.checks.map((c) => [c.id, c.status])).toEqual([
      ['tests', 'fail'],
      ['lint', 'fail'],
    ]);
    expect(r.checks[0]?.detail).toMatch(/line coverage 71\.4% is below the minimum 80%/);
    expect(r.checks[1]?.detail).toMatch(/1 warning\(s\) and zero_warnings is set: a\.js warning no-console/);
  });

  it('stops the running commands when the call is cancelled', async () => {
    const ac = new AbortController();
    const p = agent.client.callTool({ name: 'check_dod', arguments: { component: 'slow', only: ['compiles'] } }, CallToolResultSchema, { signal: ac.signal });
    const pidFile = path.join(dir, 'pid');
    for (let i = 0; i < 100 && !fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(processAlive(pid)).toBe(true);
    ac.abort();
    await expect(p).rejects.toThrow();
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((r) => setTimeout(r, 50));
      alive = processAlive(pid);
    }
    expect(alive).toBe(false);
  });

  it('says what it detected when there is no config', async () => {
    write(dir, { 'package.json': JSON.stringify({ scripts: { typecheck: 'tsc --noEmit', test: 'vitest run', lint: 'eslint .' } }) });
    const h2 = await harness();
    try {
      const a = await h2.connect({ root: dir });
      const r = await a.call<Dod>('check_dod', { only: ['state_updated'] });
      expect(r.detected).toBe('detected from package.json scripts: compiles=npm run typecheck, tests=npm run test, lint=npm run lint');
      expect(r.message).toMatch(/\[detected\]/);
      expect(r.checks).toEqual([expect.objectContaining({ id: 'state_updated', status: 'error' })]);
      expect(r.passed).toBe(false);
    } finally {
      await h2.close();
      fs.rmSync(path.join(dir, 'package.json'));
    }
  });
});

describe('check_dod with several components', () => {
  let h: Harness;
  let agent: Agent;
  let dir: string;
  const node = process.execPath;

  beforeAll(async () => {
    dir = fs.realpathSync(tempDir('factory-dod-multi-'));
    sh(dir, 'init', '-q', '-b', 'main');
    write(dir, { 'api/a.txt': 'a\n', 'web/w.txt': 'w\n' });
    sh(dir, 'add', '-A');
    sh(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'base');
    sh(dir, 'checkout', '-q', '-b', 'feature');
    h = await harness({
      config: {
        dod: {
          components: [
            { name: 'api', paths: ['api/**'], dir: 'api', commands: { compiles: [node, '-e', 'process.exit(require("fs").existsSync("a.txt") ? 0 : 4)'] } },
            { name: 'web', paths: ['web/**'], commands: { compiles: [node, '-e', 'console.error("web: error TS1005"); process.exit(2)'] } },
          ],
        },
      },
    });
    agent = await h.connect({ root: dir });
  });

  afterAll(async () => {
    await h?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the checks of the components the change touches, each in its own dir', async () => {
    write(dir, { 'api/b.txt': 'b\n' });
    const api = await agent.call<Dod>('check_dod', { only: ['compiles'] });
    expect(api.message).toMatch(/\[api\]/);
    expect(api.checks[0]).toMatchObject({ id: 'compiles', status: 'pass' });
    write(dir, { 'web/x.txt': 'x\n' });
    const both = await agent.call<Dod>('check_dod', { only: ['compiles'] });
    expect(both.message).toMatch(/\[api, web\]/);
    expect(both.checks[0]).toMatchObject({ id: 'compiles', status: 'fail' });
    expect(both.checks[0]?.detail).toMatch(/^\[web\] .*exited 2: web: error TS1005/);
    const one = await agent.call<Dod>('check_dod', { only: ['compiles'], component: 'api' });
    expect(one.checks[0]?.status).toBe('pass');
  });
});
