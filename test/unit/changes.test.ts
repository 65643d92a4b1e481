import { describe, expect, it } from 'vitest';
import { RE2JS } from 're2js';
import { compileRules, DEFAULT_RULES, RuleError, type ChangedFile, type RulesConfig } from '../../src/changes/rules.js';
import { classify } from '../../src/changes/classifier.js';
import { gateWeakenings, parseConfig } from '../../src/core/config.js';

const file = (path: string, added: string[] = [], removed: string[] = [], extra: Partial<ChangedFile> = {}): ChangedFile => ({
  path,
  status: 'modified',
  additions: added.length,
  deletions: removed.length,
  binary: false,
  symlink: false,
  added,
  removed,
  ...extra,
});
const run = (files: ChangedFile[], cfg: RulesConfig = {}, intent?: NonNullable<Parameters<typeof classify>[2]>['intent']) => classify(files, compileRules(cfg), { intent });
const rules = (c: ReturnType<typeof run>) => c.reasons.map((r) => `${r.level}:${r.rule}`).sort();

describe('classify: the default rules', () => {
  it('docs only → ship, merge_now', () => {
    const c = run([file('README.md', ['more words']), file('docs/guide/setup.md', ['x'])]);
    expect(c).toMatchObject({ level: 'ship', action: 'merge_now', stats: { files: 2, additions: 2, deletions: 0, renames: 0 } });
    expect(c.reasons).toEqual([{ level: 'ship', rule: 'docs', files: ['README.md', 'docs/guide/setup.md'], message: expect.stringContaining('2 files') }]);
  });

  it('tests only → show', () => {
    expect(run([file('test/unit/a.test.ts', ["it('x', () => {})"]), file('src/b.spec.ts', ['x'])])).toMatchObject({ level: 'show', action: 'merge_then_review' });
  });

  it('a source change without new API is show (other)', () => {
    expect(rules(run([file('src/util.ts', ['  return a + b;'], ['  return a - b;'])]))).toEqual(['show:other']);
  });

  it('new exported API, raw SQL, eval, secrets → ask, with the line that fired', () => {
    const c = run([
      file('src/api.ts', ['export function createUser() {}']),
      file('src/repo.ts', ['  db.prepare("SELECT id FROM users WHERE x = ?")']),
      file('src/run.ts', ['  const v = eval(code);']),
      file('src/cfg.ts', ['  const key = process.env.STRIPE_SECRET_KEY;']),
    ]);
    expect(c.level).toBe('ask');
    expect(rules(c)).toEqual(['ask:eval', 'ask:exported_api', 'ask:raw_sql', 'ask:secrets']);
    expect(c.reasons.find((r) => r.rule === 'exported_api')?.message).toContain('src/api.ts: export function createUser');
  });

  it('a moved export (removed in one file, added in another) is not new API', () => {
    const c = run([file('src/a.ts', [], ['export function f() {}']), file('src/b.ts', ['export function f() {}'])]);
    expect(rules(c)).toEqual(['show:other']);
  });

  it('removed exported API → ask', () => {
    expect(rules(run([file('src/a.ts', [], ['export function gone() {}'])]))).toEqual(['ask:removed_api']);
  });

  it('migrations, CI, infrastructure, auth paths → ask; tests and docs about them do not', () => {
    const c = run([file('db/migrations/002_users.sql', ['x']), file('.github/workflows/ci.yml', ['x']), file('Dockerfile', ['x']), file('src/auth/login.ts', ['x'])]);
    expect(rules(c)).toEqual(['ask:auth', 'ask:ci', 'ask:infrastructure', 'ask:migrations']);
    expect(run([file('test/auth.test.ts', ['x']), file('docs/security.md', ['x'])]).level).toBe('show');
  });

  it('a dependency bump with its lockfile → ship; without the lockfile → ask', () => {
    const bump = file('package.json', ['    "zod": "^4.1.0",'], ['    "zod": "^4.0.0",']);
    const lock = file('package-lock.json', ['x'], ['y']);
    const c = run([bump, lock]);
    expect(c.level).toBe('ship');
    expect(c.reasons.find((r) => r.rule === 'dependency_bump')?.message).toBe('zod bumped in package.json');
    expect(rules(run([bump]))).toEqual(['ask:lockfile_missing']);
  });

  it('a new dependency → ask, even with its lockfile; a dropped one → show', () => {
    const c = run([file('package.json', ['    "left-pad": "^1.3.0",'], []), file('package-lock.json', ['x'])]);
    expect(c.level).toBe('ask');
    expect(c.reasons[0]).toMatchObject({ rule: 'new_dependency', message: 'new dependency left-pad in package.json' });
    expect(rules(run([file('package.json', [], ['    "left-pad": "^1.3.0",']), file('package-lock.json', [], ['x'])]))).toEqual(['show:removed_dependency']);
  });

  it('package.json changes outside dependencies are not dependency changes', () => {
    expect(rules(run([file('package.json', ['    "lint": "eslint ."'], ['    "lint": "eslint src"'])]))).toEqual(['show:other']);
  });

  it('other ecosystems: requirements pins, go.mod, Cargo.toml', () => {
    expect(run([file('requirements.txt', ['requests==2.32.0'], ['requests==2.31.0'])]).level).toBe('ship');
    expect(rules(run([file('requirements.txt', ['flask==3.0.0'])]))).toEqual(['ask:new_dependency']);
    expect(run([file('go.mod', ['\tgithub.com/x/y v1.2.0'], ['\tgithub.com/x/y v1.1.0']), file('go.sum', ['a'], ['b'])]).level).toBe('ship');
    expect(rules(run([file('Cargo.toml', ['serde = "1.0.200"'], ['serde = "1.0.100"'])]))).toEqual(['ask:lockfile_missing']);
  });

  it('a lockfile refresh alone → ship', () => {
    expect(rules(run([file('yarn.lock', ['a'.repeat(10)], ['b'])]))).toEqual(['ship:lockfile']);
  });

  it('whitespace-only and rename-only → show', () => {
    expect(rules(run([file('src/a.ts', ['const x =  1;', ''], ['const x = 1;'])]))).toEqual(['show:whitespace_only']);
    expect(rules(run([file('src/new.ts', [], [], { status: 'renamed', old_path: 'src/old.ts' })]))).toEqual(['show:rename_only']);
  });

  it('more than 300 changed lines → ask (too_large: split it), tier xl; lockfiles not counted; configurable', () => {
    const big = Array.from({ length: 200 }, (_, i) => `line ${i}`);
    const c = run([
      file(
        'README.md',
        big,
        big.map((l) => `${l}!`),
      ),
    ]);
    expect(rules(c)).toEqual(['ask:too_large', 'ship:docs']);
    expect(c).toMatchObject({ level: 'ask', size: { lines: 400, tier: 'xl' } });
    expect(c.reasons.find((r) => r.rule === 'too_large')?.message).toMatch(/^400 changed lines .* split it into pull requests of at most 300 lines/);
    expect(
      run([
        file(
          'package-lock.json',
          big,
          big.map((l) => `${l}!`),
        ),
      ]),
    ).toMatchObject({ level: 'ship', size: { lines: 0, tier: 's' } });
    expect(run([file('README.md', big, [])], { max_lines: 100 }).level).toBe('ask');
    expect(run([file('README.md', big, [])], { max_lines: 100, size_tiers: { s: 10, m: 20 }, rules: [{ id: 'too_large', level: 'show' }] }).level).toBe('show');
  });

  it('the size tiers at their boundaries: under 50 s, under 150 m, up to 300 l, over 300 xl', () => {
    const lines = (n: number) =>
      run([
        file(
          'README.md',
          Array.from({ length: n }, (_, i) => `w${i}`),
        ),
      ]);
    const at = (n: number) => [lines(n).size.tier, lines(n).level];
    expect([0, 49, 50, 149, 150, 300, 301].map(at)).toEqual([
      ['s', 'ship'],
      ['s', 'ship'],
      ['m', 'ship'],
      ['m', 'ship'],
      ['l', 'ship'],
      ['l', 'ship'],
      ['xl', 'ask'],
    ]);
    // Configured thresholds move the boundaries the same way.
    const cfg = { max_lines: 20, size_tiers: { s: 5, m: 10 } };
    const tier = (n: number) =>
      run(
        [
          file(
            'README.md',
            Array.from({ length: n }, (_, i) => `w${i}`),
          ),
        ],
        cfg,
      ).size.tier;
    expect([4, 5, 9, 10, 20, 21].map(tier)).toEqual(['s', 'm', 'm', 'l', 'l', 'xl']);
  });

  it('lockfiles, build output and binaries are not counted; size_exclude replaces the default globs', () => {
    const n = (k: number) => Array.from({ length: k }, (_, i) => `x${i}`);
    const change = [
      file('src/util.ts', n(40)),
      file('package-lock.json', n(500)),
      file('web/yarn.lock', n(500)),
      file('pnpm-lock.yaml', n(500)),
      file('Cargo.lock', n(500)),
      file('dist/bundle.js', n(500)),
      file('assets/app.min.js', n(500)),
      file('img.png', [], [], { binary: true, additions: 900 }),
    ];
    expect(run(change)).toMatchObject({ size: { lines: 40, tier: 's' } });
    expect(run(change).reasons.map((r) => r.rule)).not.toContain('too_large');
    // Nothing excluded: every text line counts (binaries still do not).
    expect(run(change, { size_exclude: [] })).toMatchObject({ level: 'ask', size: { lines: 3040, tier: 'xl' } });
    expect(run([file('gen/api.ts', n(400))], { size_exclude: ['gen/**'] }).size).toEqual({ lines: 0, tier: 's' });
    // A dist folder deeper down is not build output of the root; a file merely named like one counts.
    expect(run([file('src/dist/x.ts', n(400))]).size.tier).toBe('xl');
  });

  it('a config that loosens the size gate is a gate weakening; the defaults and a smaller limit are not', () => {
    expect(gateWeakenings(parseConfig({})).filter((w) => w.includes('size') || w.includes('max_lines'))).toEqual([]);
    expect(gateWeakenings(parseConfig({ autonomy: 5 }))).toEqual(['autonomy 5 (default 3)']);
    expect(gateWeakenings(parseConfig({ autonomy: 2 }))).toEqual([]);
    expect(gateWeakenings(parseConfig({ changes: { max_lines: 200, size_exclude: ['dist/**'] } }))).toEqual([]);
    expect(gateWeakenings(parseConfig({ changes: { max_lines: 1000, size_exclude: ['*.lock', 'src/**'] } }))).toEqual([
      'changes.max_lines 1000 (default 300: larger changes are not too_large)',
      'changes.size_exclude adds src/** (their lines do not count towards too_large)',
    ]);
    expect(() => parseConfig({ changes: { size_tiers: { s: 100, m: 100 } } })).toThrow(/changes\.size_tiers\.m: size_tiers\.m \(100\) must be more than/);
  });

  it('bad size settings name their field', () => {
    expect(() => compileRules({ size_tiers: { s: 150, m: 150 } })).toThrow(/size_tiers\.m \(150\) must be more than size_tiers\.s/);
    expect(() => compileRules({ size_exclude: ['{x'] })).toThrow(RuleError);
  });

  it('binary files, symlinks and deleted files', () => {
    expect(rules(run([file('assets/logo.png', [], [], { binary: true, additions: 0 })]))).toEqual(['show:binary']);
    expect(rules(run([file('docs/img/a.png', [], [], { binary: true })]))).toEqual(['ship:docs']);
    expect(rules(run([file('current', ['releases/v2'], [], { status: 'added', symlink: true })]))).toEqual(['ask:symlink']);
    expect(rules(run([file('link', [], ['target'], { status: 'deleted', was_symlink: true })]))).toEqual(['ask:symlink']);
    const del = run([file('src/old.ts', [], ['const x = 1;'], { status: 'deleted' })]);
    expect(del.reasons).toEqual([expect.objectContaining({ rule: 'other', level: 'show', message: 'src/old.ts deleted' })]);
    expect(run([file('db/migrations/001.sql', [], ['CREATE TABLE x'], { status: 'deleted' })]).level).toBe('ask');
  });

  it('a file list without content is classified by its paths', () => {
    expect(run([{ path: 'docs/a.md', status: 'modified', additions: 3, deletions: 1, binary: false, symlink: false }]).level).toBe('ship');
    expect(run([{ path: 'package.json', status: 'modified', additions: 1, deletions: 1, binary: false, symlink: false }]).level).toBe('ask');
  });

  it('no files → ship with no reasons', () => {
    expect(run([])).toMatchObject({ level: 'ship', reasons: [] });
  });
});

describe('classify: intent', () => {
  it('a "refactor" that adds exported API or new source files → ask, and the reason says the diff wins', () => {
    const c = run([file('src/x.ts', ['  return 1;'], ['  return 2;']), file('src/new.ts', ['const a = 1;'], [], { status: 'added' })], {}, 'refactor');
    expect(c.level).toBe('ask');
    const r = c.reasons.find((x) => x.rule === 'intent');
    expect(r).toMatchObject({ level: 'ask', files: ['src/new.ts'] });
    expect(r?.message).toMatch(/stated intent "refactor" but the diff adds source files \(src\/new.ts\): the diff wins/);
  });

  it('a "docs" change that touches CI is ask; a "feature" that only touches docs is ship', () => {
    const a = run([file('README.md', ['x']), file('.github/workflows/ci.yml', ['x'])], {}, 'docs');
    expect(a.level).toBe('ask');
    expect(a.reasons.find((x) => x.rule === 'intent')?.message).toMatch(/"docs" suggests ship, but the diff is ask \(ci\): the diff wins/);
    const b = run([file('README.md', ['x'])], {}, 'feature');
    expect(b.level).toBe('ship');
    expect(b.reasons.find((x) => x.rule === 'intent')?.level).toBe('ship');
  });

  it('a matching intent adds no reason', () => {
    expect(run([file('README.md', ['x'])], {}, 'docs').reasons.map((r) => r.rule)).toEqual(['docs']);
  });
});

describe('compileRules: configuration', () => {
  it('a rule whose id is an Object.prototype name (toString, constructor) is an ordinary rule, not built-in logic', () => {
    for (const id of ['toString', 'constructor', '__proto__']) {
      const cfg: RulesConfig = { rules: [{ id, level: 'ask', paths: ['src/billing/**'] }] };
      expect(rules(run([file('src/billing/x.ts', ['a'])], cfg))).toEqual([`ask:${id}`]);
    }
  });

  it('adds a rule, overrides a built-in one by id, removes one', () => {
    const cfg: RulesConfig = {
      rules: [
        { id: 'payments', level: 'ask', paths: ['src/billing/**'] },
        { id: 'docs', level: 'show' },
      ],
      remove: ['tests'],
    };
    expect(rules(run([file('src/billing/x.ts', ['a'])], cfg))).toEqual(['ask:payments']);
    expect(run([file('a.md', ['x'])], cfg).level).toBe('show');
    expect(rules(run([file('test/a.test.ts', ['x'])], cfg))).toEqual(['show:other']);
  });

  it('a content rule from the config fires on added lines', () => {
    expect(rules(run([file('src/a.ts', ['// TODO hack'])], { rules: [{ id: 'hack', level: 'ask', pattern: 'hack', ignore_case: true }] }))).toEqual(['ask:hack']);
  });

  it('an invalid rule is an error naming it', () => {
    const err = (cfg: RulesConfig) => {
      try {
        compileRules(cfg);
      } catch (e) {
        expect(e).toBeInstanceOf(RuleError);
        return `${(e as RuleError).path.join('.')}: ${(e as Error).message}`;
      }
      throw new Error('no error');
    };
    expect(
      err({
        rules: [
          { id: 'a', level: 'ask', paths: ['x'] },
          { id: 'b', level: 'ask', paths: ['ok', '{bad'] },
        ],
      }),
    ).toMatch(/^rules\.1\.paths\.1: bad glob "\{bad": unclosed/);
    expect(err({ rules: [{ id: 'c', level: 'ask', pattern: '(' }] })).toMatch(/^rules\.0\.pattern: bad regular expression/);
    expect(err({ rules: [{ id: 'd', paths: ['x'] }] })).toMatch(/^rules\.0\.level: new rule d needs a level/);
    expect(err({ rules: [{ id: 'e', level: 'ask' }] })).toMatch(/^rules\.0: rule e needs paths, pattern or removed_pattern/);
    expect(err({ rules: [{ id: 'too_large', level: 'ask', paths: ['x'] }] })).toMatch(/^rules\.0\.paths: rule too_large is built-in logic/);
    expect(err({ remove: ['nope'] })).toMatch(/^remove\.0: no rule with id "nope"/);
  });
});

describe('classify: exported API across languages', () => {
  const api = (path: string, line: string) => run([file(path, [line])]).reasons.some((r) => r.rule === 'exported_api');
  it('sees exports, public items, routes; not private helpers', () => {
    expect(api('src/a.ts', 'export const handler = () => 1;')).toBe(true);
    expect(api('src/a.js', 'module.exports = { run };')).toBe(true);
    expect(api('src/lib.rs', 'pub fn parse(input: &str) -> Result<()> {')).toBe(true);
    expect(api('pkg/x.go', 'func (s *Server) Handle(w http.ResponseWriter) {')).toBe(true);
    expect(api('app/views.py', 'def list_users(request):')).toBe(true);
    expect(api('src/server.ts', "  router.post('/users', create);")).toBe(true);
    expect(api('src/a.ts', 'class Helper {}')).toBe(false);
    expect(api('src/a.ts', 'function helper() {}')).toBe(false);
    expect(api('pkg/x.go', 'func helper() {')).toBe(false);
    expect(api('test/a.test.ts', 'export function fixture() {}')).toBe(false);
  });
});

describe('built-in content patterns', () => {
  it('are all RE2 (compileRules checks only the configured ones, and builds the RE2 set on first use)', () => {
    const patterns = DEFAULT_RULES.flatMap((r) => [r.pattern, r.removed_pattern]).filter((p): p is string => p !== undefined);
    expect(patterns.length).toBeGreaterThan(5);
    for (const p of patterns) expect(() => RE2JS.compile(p), p).not.toThrow();
  });
});
