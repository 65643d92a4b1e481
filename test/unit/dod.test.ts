import { describe, expect, it } from 'vitest';
import {
  addedLines,
  aggregate,
  ciVerdict,
  combine,
  coveragePct,
  detectCommands,
  excerpt,
  lintWarnings,
  componentPaths,
  newWarnings,
  parseTestReport,
  regressions,
  sessionVerdict,
  stateVerdict,
  type CheckResult,
} from '../../src/dod/domain.js';
import { parseConfig } from '../../src/core/config.js';
import { globToRegExp } from '../../src/core/glob.js';

const check = (id: string, status: CheckResult['status']): CheckResult => ({ id, status, duration_ms: 1, detail: '' });

describe('aggregate: no partial credit', () => {
  it('passes only with all ten ok (a skip counts only when the config asked for it)', () => {
    const ten = Array.from({ length: 10 }, (_, i) => check(`c${i}`, 'pass'));
    expect(aggregate(ten, 10)).toEqual({ passed: true, score: '10/10', skipped: 0 });
    expect(aggregate([...ten.slice(0, 9), check('c9', 'error')], 10)).toMatchObject({ passed: false, score: '9/10' });
    expect(aggregate(ten.slice(0, 3), 10)).toMatchObject({ passed: false, score: '3/3' });
    expect(aggregate(ten, 10, false).passed).toBe(false);
    const skipped = [...ten.slice(0, 8), { ...check('c8', 'skip'), by_config: true }, { ...check('c9', 'skip'), by_config: true }];
    expect(aggregate(skipped, 10)).toEqual({ passed: true, score: '8/8 passed, 2 skipped by config', skipped: 2 });
    // A skip the config did not ask for is not done.
    expect(aggregate([...ten.slice(0, 9), check('c9', 'skip')], 10)).toMatchObject({ passed: false, score: '9/10' });
  });

  it('combines components: a fail wins, then an error; skip only when all skip', () => {
    expect(
      combine([
        { component: 'a', status: 'pass', detail: 'ok' },
        { component: 'b', status: 'fail', detail: 'x' },
      ]),
    ).toEqual({ status: 'fail', detail: '[b] x' });
    expect(
      combine([
        { component: 'a', status: 'error', detail: 'e' },
        { component: 'b', status: 'pass', detail: 'ok' },
      ]).status,
    ).toBe('error');
    expect(
      combine([
        { component: 'a', status: 'skip', detail: '' },
        { component: 'b', status: 'pass', detail: 'ok' },
      ]).status,
    ).toBe('pass');
    expect(
      combine([
        { component: 'a', status: 'skip', detail: '' },
        { component: 'b', status: 'skip', detail: '' },
      ]).status,
    ).toBe('skip');
    expect(
      combine([
        { component: 'a', status: 'skip', detail: '', by_config: true },
        { component: 'b', status: 'skip', detail: '', by_config: true },
      ]).by_config,
    ).toBe(true);
    expect(
      combine([
        { component: 'a', status: 'skip', detail: '', by_config: true },
        { component: 'b', status: 'skip', detail: '' },
      ]).by_config,
    ).toBeUndefined();
  });
});

describe('test reports', () => {
  it('reads JUnit XML (node --test, jest-junit style) with failures, errors and skips', () => {
    const xml = `<?xml version="1.0"?><testsuites><testsuite name="s">
      <testcase name="adds &amp; more" classname="math"/>
      <testcase name="b" classname="test" failure="x"><failure message="x">boom</failure></testcase>
      <testcase name="c"><error message="e"/></testcase>
      <testcase name="d"><skipped/></testcase>
    </testsuite></testsuites>`;
    expect(parseTestReport(xml)).toEqual({ passed: ['math > adds & more'], failed: ['b', 'c'] });
  });

  it('reads vitest/jest JSON', () => {
    const json = JSON.stringify({
      testResults: [
        {
          name: 'f',
          assertionResults: [
            { fullName: 'a ok', status: 'passed' },
            { fullName: 'a bad', status: 'failed' },
            { fullName: 'a todo', status: 'pending' },
          ],
        },
      ],
    });
    expect(parseTestReport(json)).toEqual({ passed: ['a ok'], failed: ['a bad'] });
    expect(() => parseTestReport('{"x":1}')).toThrow(/testResults/);
    expect(() => parseTestReport('plain text')).toThrow(/not a JUnit/);
  });

  it('names regressions: passed on the baseline, failing now; new failures are not regressions', () => {
    expect(regressions(['add', 'mul'], { passed: ['mul'], failed: ['add', 'fresh'] })).toEqual(['add']);
  });
});

describe('lint warnings against a baseline', () => {
  const pat = '\\bwarn(ing)?\\b';
  it('normalizes roots and positions, drops summary lines', () => {
    const out = '/tmp/wt1/src/a.js:3:1: warning no-var\n  12:5  warning  Unexpected var  no-var\n✖ 2 problems (0 errors, 2 warnings)\nall good\n';
    expect(lintWarnings(out, pat, ['/tmp/wt1'])).toEqual(['./src/a.js: warning no-var', 'warning Unexpected var no-var']);
  });

  it('counts only warnings beyond the baseline (a multiset)', () => {
    expect(newWarnings(['a', 'a', 'b'], ['a', 'b'])).toEqual(['a']);
    expect(newWarnings(['a'], ['a', 'a'])).toEqual([]);
  });
});

describe('diffs, globs, coverage, excerpts', () => {
  it('finds added lines per file from git diff -U0', () => {
    const diff = [
      'diff --git a/x.js b/x.js',
      '--- a/x.js',
      '+++ b/x.js',
      '@@ -1,0 +2,2 @@',
      '+a',
      '+b',
      '@@ -9 +10 @@',
      '-o',
      '+n',
      'diff --git a/gone b/gone',
      '--- a/gone',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-x',
    ].join('\n');
    const m = addedLines(diff);
    expect([...(m.get('x.js') ?? [])]).toEqual([2, 3, 10]);
    expect(m.has('gone')).toBe(false);
  });

  it('matches globs the usual way', () => {
    expect(globToRegExp('src/**/*.ts').test('src/a/b/c.ts')).toBe(true);
    expect(globToRegExp('src/**/*.ts').test('src/c.ts')).toBe(true);
    expect(globToRegExp('*.md').test('docs/a.md')).toBe(true);
    expect(globToRegExp('src/*.ts').test('src/a/b.ts')).toBe(false);
    expect(componentPaths(['packages/api']).test('packages/api/x.ts')).toBe(true);
    expect(componentPaths(['packages/api']).test('packages/web/x.ts')).toBe(false);
  });

  it('reads istanbul coverage summaries', () => {
    expect(coveragePct(JSON.stringify({ total: { lines: { pct: 81.5 } } }))).toBe(81.5);
    expect(() => coveragePct('{}')).toThrow(/total\.lines\.pct/);
  });

  it('shows the error lines first, else the tail', () => {
    expect(excerpt('compiling\nsrc/a.ts:1 - error TS2322: bad\nmore\n')).toBe('src/a.ts:1 - error TS2322: bad');
    expect(excerpt('a\nb\nc', 2)).toBe('b | c');
  });
});

describe('component detection', () => {
  it('reads package.json scripts and uses a plain format script only when it checks', () => {
    const d = detectCommands({ packageJson: JSON.stringify({ scripts: { build: 'tsc', test: 'vitest run', format: 'prettier -w .' } }) });
    expect(d?.commands).toEqual({ compiles: ['npm', 'run', '--silent', 'build'], tests: ['npm', 'run', '--silent', 'test'], lint: undefined, format: undefined });
    expect(d?.detail).toBe('package.json scripts: compiles=npm run build, tests=npm run test');
    const checking = detectCommands({ packageJson: JSON.stringify({ scripts: { format: 'prettier --check .' } }) });
    expect(checking?.commands.format).toEqual(['npm', 'run', '--silent', 'format']);
  });

  it('knows other ecosystems by their marker file', () => {
    expect(detectCommands({ cargo: true })?.commands.format).toEqual(['cargo', 'fmt', '--check']);
    expect(detectCommands({ gomod: true })?.commands.tests).toEqual(['go', 'test', './...']);
    expect(detectCommands({ pyproject: true })?.commands.lint).toEqual(['ruff', 'check', '.']);
    expect(detectCommands({})).toBeNull();
  });
});

describe('CI verdict', () => {
  it('requires each configured check, green', () => {
    const checks = [
      { name: 'build', state: 'success' as const },
      { name: 'test', state: 'failure' as const },
      { name: 'lint', state: 'pending' as const },
    ];
    expect(ciVerdict(checks, ['build', 'test', 'lint', 'e2e'], 3)).toEqual({ status: 'fail', detail: 'test failed; lint still running; e2e missing' });
    expect(ciVerdict(checks.slice(0, 1), ['build'], 3).status).toBe('pass');
  });

  it('without configured names, wants at least min checks, all green', () => {
    expect(ciVerdict([{ name: 'a', state: 'success' }], [], 3)).toEqual({ status: 'fail', detail: '1 check(s) reported, at least 3 required' });
    expect(
      ciVerdict(
        ['a', 'b', 'c'].map((name) => ({ name, state: 'success' as const })),
        [],
        3,
      ).status,
    ).toBe('pass');
  });
});

describe('state and session verdicts', () => {
  const op = (kind: string, ts: number, extra: Partial<{ instance: string; mega: string | null; phase: string | null }> = {}) => ({ ts, kind, instance: 't1', mega: null, phase: null, ...extra });
  it('wants a checkpoint and a memory or plan change after the claim', () => {
    const ops = [op('checkpoint', 5, { mega: 'M', phase: '1' }), op('memory', 6)];
    expect(stateVerdict(ops, 'M', '1', 4).status).toBe('pass');
    expect(stateVerdict(ops, 'M', '1', 6).detail).toMatch(/no checkpoint/);
    expect(stateVerdict([op('checkpoint', 5, { mega: 'M', phase: '1' })], 'M', '1', 4).detail).toMatch(/memory and plan unchanged/);
    expect(stateVerdict([op('checkpoint', 5, { mega: 'M', phase: '1' }), op('replan', 5, { mega: 'M' })], 'M', '1', 4).status).toBe('pass');
  });

  it('wants SESSION-START of the owner and operations for the phase', () => {
    expect(sessionVerdict([op('session_start', 1), op('claim', 2, { mega: 'M', phase: '1' })], 't1', 'M', '1').status).toBe('pass');
    expect(sessionVerdict([op('claim', 2, { mega: 'M', phase: '1' })], 't1', 'M', '1').detail).toMatch(/no SESSION-START/);
    expect(sessionVerdict([op('session_start', 1)], 't1', 'M', '1').detail).toMatch(/no operations/);
    expect(sessionVerdict([], null, 'M', '1').status).toBe('fail');
  });
});

describe('dod config', () => {
  it('defaults without a dod section, and names unknown keys', () => {
    const c = parseConfig({});
    expect(c.dod).toMatchObject({ components: [], required_checks: [], min_checks: 3, secrets: 'auto', concurrency: 3, require_for_complete: false });
    expect(parseConfig({ dod: { components: [{ name: 'x' }] } }).dod.components[0]).toMatchObject({
      paths: ['**'],
      dir: '.',
      commands: {},
      timeout_seconds: 600,
      thresholds: { zero_warnings: false },
    });
    expect(() => parseConfig({ dod: { component: [] } })).toThrow(/dod: unknown field "component"/);
    expect(() => parseConfig({ dod: { components: [{ name: 'x', commands: { tests: 'npm test' } }] } })).toThrow(/dod\.components\[0\]\.commands\.tests/);
  });
});
