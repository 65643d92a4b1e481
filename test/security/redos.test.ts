/**
 * Issue 12, finding 3: one diff froze everyone. The built-in raw_sql rule backtracked in cubic
 * time on `SELECT` and a long run of spaces (4 KB held the HTTP server's only thread for 12 s),
 * and the package.json parser in quadratic time on a long line. Content rules now run on RE2
 * (linear time), lines and total content are bounded, and what was not inspected is said.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { compileRules, RuleError, type ChangedFile } from '../../src/changes/rules.js';
import { classify } from '../../src/changes/classifier.js';
import { runCommand } from '../../src/integrations/run.js';
import { GIT_ENV, makeRepo, type TestRepo } from '../helpers/git.js';
import { httpAgent, listeningUrl, type HttpAgent } from '../helpers/http.js';
import { CLI } from '../helpers/stdio.js';

/** `SELECT` and a run of spaces that never reaches FROM: what made `raw_sql` backtrack. */
const hostileLine = (spaces: number) => `SELECT${' '.repeat(spaces)}x`;

/** A unified diff adding `src/<name>.ts` with these lines, plus optional package.json lines. */
function diffOf(name: string, lines: string[], pkg: string[] = []): string {
  const file = (p: string, ls: string[]) => [`diff --git a/${p} b/${p}`, 'new file mode 100644', '--- /dev/null', `+++ b/${p}`, `@@ -0,0 +1,${ls.length} @@`, ...ls.map((l) => `+${l}`)];
  return [...file(`src/${name}.ts`, lines), ...(pkg.length ? file('package.json', pkg) : [])].join('\n') + '\n';
}

type Verdict = { level: string; reasons: { rule: string; files: string[]; message: string }[] };

let child: ChildProcessWithoutNullStreams | null = null;
let repo: TestRepo | null = null;
const agents: HttpAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  if (child && child.exitCode === null) {
    const c = child;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }
  child = null;
  repo?.remove();
  repo = null;
});

/** `factory-mcp http` as a real child process in a fresh repository; its URL once it listens. */
async function serve(dir: string): Promise<string> {
  const c = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', path.join(dir, '.factory.db')], { cwd: dir, env: { ...GIT_ENV, FACTORY_LOG: 'silent' } });
  child = c;
  return listeningUrl(c);
}

/** Rejects when `p` has not settled within `ms` (the old engine never finishes a 64 KB hostile diff). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('hostile diffs over HTTP', () => {
  it('a 4 KB and a 64 KB hostile diff are classified while another client`s board keeps answering', async () => {
    repo = makeRepo();
    const url = await serve(repo.dir);
    const attacker = await httpAgent(url, { name: 'attacker' });
    const bystander = await httpAgent(url, { name: 'bystander' });
    agents.push(attacker, bystander);
    await bystander.call('board'); // warm: the first call loads the board's code

    const small = diffOf('small', [hostileLine(4000)]);
    // 64 KB: eight hostile lines the content rules do read, and a package.json line too long to read.
    const big = diffOf(
      'big',
      Array.from({ length: 8 }, () => hostileLine(4000)),
      [`"left-pad": "1.0.0"${' '.repeat(34_000)}x`],
    );
    expect(small.length).toBeGreaterThan(4000);
    expect(big.length).toBeGreaterThan(64_000);

    // The bystander calls board in a loop, before, during and after the attacker's classifications.
    const latencies: number[] = [];
    let done = false;
    const calls = async (n: number) => {
      const goal = latencies.length + n;
      while (latencies.length < goal) await new Promise((r) => setTimeout(r, 5));
    };
    const timing = (async () => {
      while (!done) {
        const t0 = performance.now();
        await bystander.call('board');
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let first: Verdict;
    let second: Verdict;
    try {
      await calls(3);
      first = await within(attacker.call<Verdict>('classify_change', { diff: small }), 20_000, 'the 4 KB classification');
      second = await within(attacker.call<Verdict>('classify_change', { diff: big }), 20_000, 'the 64 KB classification');
      await calls(3);
    } finally {
      done = true;
      await timing;
    }

    // The classifications finished and are still right: a new source file, no SQL (there is no FROM).
    expect(first.level).toBe('show');
    expect(first.reasons.map((r) => r.rule)).toEqual(['other']);
    // The package.json line was too long to read: said in the answer, at ask (unread content is not waved through).
    expect(second.level).toBe('ask');
    const skipped = second.reasons.find((r) => r.rule === 'content_skipped');
    expect(skipped).toMatchObject({ files: ['package.json'] });
    expect(skipped?.message).toMatch(/package\.json: 1 line over 4096 characters not inspected/);
    expect(second.reasons.some((r) => r.rule === 'raw_sql')).toBe(false);

    // The other session's board kept flowing: no multi-second stall (the old engine held it 12 s and more).
    expect(latencies.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...latencies)).toBeLessThan(2000);
    // The server is still there for everyone.
    await bystander.call('board');
  }, 60_000);
});

describe('a committed hostile file in CI', () => {
  it('factory-mcp classify finishes on a range holding it', async () => {
    repo = makeRepo();
    const base = repo.commit('base', { 'README.md': '# app\n' });
    repo.commit('hostile', { 'src/db.ts': `${Array.from({ length: 8 }, () => hostileLine(4000)).join('\n')}\nexport const q = 'SELECT id FROM users';\n` });
    const r = await runCommand([process.execPath, CLI, 'classify', '--base', base, '--head', 'HEAD', '--json'], { cwd: repo.dir, timeoutMs: 20_000, env: { ...GIT_ENV, FACTORY_LOG: 'silent' } });
    expect(r.exitCode).toBe(20);
    const out = JSON.parse(r.stdout) as Verdict;
    // Ordinary matches still fire next to the hostile lines.
    expect(out.reasons.map((x) => x.rule).sort()).toEqual(['exported_api', 'raw_sql']);
  }, 30_000);
});

describe('content rules on RE2', () => {
  const cfg = (rule: Record<string, unknown>) => ({ changes: { rules: [rule] } });

  it('a config pattern RE2 cannot run (backreference, lookahead) is a config error naming the rule', () => {
    for (const pattern of ['(["\'])secret\\1', 'token(?=\\s*=)']) {
      const err = (() => {
        try {
          compileRules({ rules: [{ id: 'quoted_secret', level: 'ask', pattern }] });
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(RuleError);
      expect((err as RuleError).path).toEqual(['rules', 0, 'pattern']);
      expect((err as Error).message).toMatch(/^bad regular expression in rule quoted_secret: .*RE2 syntax/);
      expect(() => parseConfig(cfg({ id: 'quoted_secret', level: 'ask', pattern }))).toThrow(/changes\.rules\[0\]\.pattern: bad regular expression in rule quoted_secret/);
    }
    expect(() => parseConfig(cfg({ id: 'old', level: 'ask', removed_pattern: '(?<!x)y' }))).toThrow(/changes\.rules\[0\]\.removed_pattern: bad regular expression in rule old/);
  });

  it('the CLI refuses such a config: exit 2, one line naming the rule, nothing classified', async () => {
    repo = makeRepo();
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify(cfg({ id: 'quoted_secret', level: 'ask', pattern: '(["\'])secret\\1' })));
    const r = await runCommand([process.execPath, CLI, 'classify'], { cwd: repo.dir, timeoutMs: 20_000, env: { ...GIT_ENV, FACTORY_LOG: 'silent' } });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/changes\.rules\[0\]\.pattern: bad regular expression in rule quoted_secret/);
  }, 30_000);

  const src = (p: string, added: string[], removed: string[] = []): ChangedFile => ({
    path: p,
    status: 'modified',
    additions: added.length,
    deletions: removed.length,
    binary: false,
    symlink: false,
    added,
    removed,
  });

  it('content over the limits is not inspected and the answer says so', () => {
    const rules = compileRules({ max_line_length: 100, max_content_length: 2048 });
    // A long line is skipped even when it would match; the short one still matches.
    const long = classify([src('src/a.ts', [`eval(x); ${'y'.repeat(200)}`, 'const q = "SELECT id FROM t";'])], rules);
    expect(long.reasons.find((r) => r.rule === 'raw_sql')).toBeDefined();
    expect(long.reasons.find((r) => r.rule === 'eval')).toBeUndefined();
    expect(long.reasons.find((r) => r.rule === 'content_skipped')).toEqual({
      level: 'ask',
      rule: 'content_skipped',
      files: ['src/a.ts'],
      message: 'src/a.ts: 1 line over 100 characters not inspected',
    });
    // Past the total budget, the remaining lines (and files) are not read.
    const filler = Array.from({ length: 40 }, (_, i) => `const v${i} = ${'1 + '.repeat(20)}1;`);
    const over = classify([src('src/b.ts', filler), src('src/c.ts', ['export function late() {}'])], rules);
    const skipped = over.reasons.find((r) => r.rule === 'content_skipped');
    expect(skipped?.files).toEqual(['src/b.ts', 'src/c.ts']);
    expect(skipped?.message).toMatch(/src\/c\.ts: 1 line past the 2048-character content limit not inspected/);
    expect(over.reasons.find((r) => r.rule === 'exported_api')).toBeUndefined();
    expect(over.level).toBe('ask');
    // The level can be lowered like any logic rule; within the limits nothing is reported.
    const lowered = classify([src('src/a.ts', ['x'.repeat(200)])], compileRules({ max_line_length: 100, rules: [{ id: 'content_skipped', level: 'show' }] }));
    expect(lowered.reasons.map((r) => `${r.level}:${r.rule}`)).toEqual(['show:content_skipped', 'show:other']);
    expect(classify([src('src/a.ts', ['const a = 1;'])], compileRules({})).reasons.map((r) => r.rule)).toEqual(['other']);
  });

  it('built-in rules keep matching what they matched on the native engine', () => {
    const rules = compileRules({});
    const hit = (line: string) =>
      classify([src('src/x.ts', [line])], rules)
        .reasons.map((r) => r.rule)
        .filter((r) => r !== 'other');
    expect(hit('const rows = db.query("SELECT id, name FROM users")')).toEqual(['raw_sql']);
    expect(hit(`SELECT${' '.repeat(3000)}* FROM t`)).toEqual(['raw_sql']);
    expect(hit(hostileLine(4000))).toEqual([]);
    expect(hit('const API_KEY = process.env.API_KEY;')).toEqual(['secrets']);
    expect(hit('const Password = 1')).toEqual(['secrets']); // ignore_case
    expect(hit('export async function main() {}')).toEqual(['exported_api']);
    const custom = compileRules({ rules: [{ id: 'todo', level: 'show', pattern: '\\bTODO\\b', ignore_case: true }] });
    expect(classify([src('src/x.ts', ['// todo: later'])], custom).reasons.map((r) => r.rule)).toEqual(['todo']);
  });
});
