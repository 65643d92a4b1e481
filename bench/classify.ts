/**
 * classify_change on a synthetic range of 5,000 changed files, as a ratio to `git diff --numstat`
 * of the same range measured in the same run (the floor: git has to diff the files either way).
 * Then the content rules on RE2 against the same rules on native RegExp (the engine before issue
 * 12), same files, same run; and the longest event-loop stall (perf_hooks.monitorEventLoopDelay)
 * while the server's classify_change takes the 5,000-file range and a 1 MB hostile diff.
 * Run: npm run build && node dist/bench/classify.js [--files 5000] [--runs 7]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/core/config.js';
import { classifyChange } from '../src/changes/service.js';
import { git } from '../src/integrations/git.js';
import { DIFF_ARGS, gitChanges } from '../src/changes/git.js';
import { parseUnifiedDiff } from '../src/changes/diff.js';
import { DEFAULT_RULES, compileRules, type CompiledRules, type PatternEngine } from '../src/changes/rules.js';
import { Classifier, classify } from '../src/changes/classifier.js';

const { values } = parseArgs({ options: { files: { type: 'string', default: '5000' }, runs: { type: 'string', default: '7' } } });
const N = Number(values.files);
const RUNS = Number(values.runs);

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
const sh = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30 });

/** Where file i lives: a mix of the areas the rules look at. */
function pathOf(i: number): string {
  const areas = ['docs/guide', 'src/core', 'test/unit', 'src/auth', 'db/migrations', 'src/api', 'config', 'lib'];
  const area = areas[i % areas.length] as string;
  const ext = area.startsWith('docs') ? 'md' : area.startsWith('db') ? 'sql' : area === 'config' ? 'json' : area.startsWith('test') ? 'test.ts' : 'ts';
  return `${area}/m${Math.floor(i / 100)}/file ${i}.${ext}`;
}
const body = (i: number, v: number) =>
  Array.from({ length: 12 }, (_, k) => (k === 3 || k === 8 ? `  const value${k} = ${i * v + k}; // changed in v${v}` : `  line ${k} of file ${i}`)).join('\n') + '\n';

function makeRange(dir: string): { base: string; head: string } {
  sh(dir, 'init', '-q', '-b', 'main');
  for (let i = 0; i < N; i++) {
    const p = path.join(dir, pathOf(i));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, body(i, 1));
  }
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'base');
  const base = sh(dir, 'rev-parse', 'HEAD').trim();
  for (let i = 0; i < N; i++) {
    const p = path.join(dir, pathOf(i));
    if (i % 25 === 0)
      fs.renameSync(p, `${p}.moved`); // 4% pure renames
    else if (i % 97 === 0)
      fs.rmSync(p); // about 1% deleted
    else fs.writeFileSync(p, i % 10 === 0 ? `export function f${i}() {}\n${body(i, 2)}` : body(i, 2));
  }
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'head');
  return { base, head: sh(dir, 'rev-parse', 'HEAD').trim() };
}

/**
 * The engine before issue 12, for comparison only: native RegExp, one union of all patterns as a
 * prefilter, then one test per pattern on the lines it lets through. Backtracks on hostile lines.
 */
const NO_MATCH: readonly number[] = [];
const nativeEngine: PatternEngine = (list) => {
  const res = list.map((p) => new RegExp(p.source, p.ignoreCase ? 'i' : ''));
  const any = new RegExp(list.map((p) => `(?:${p.source})`).join('|'), list.some((p) => p.ignoreCase) ? 'i' : '');
  return {
    match(line) {
      if (!any.test(line)) return NO_MATCH;
      const out: number[] = [];
      for (let i = 0; i < res.length; i++) if ((res[i] as RegExp).test(line)) out.push(i);
      return out;
    },
  };
};

/** classify_change's git path (streamed diff, files classified as they arrive) with the given rules. */
async function streamed(dir: string, range: { base: string; head: string }, rules: CompiledRules): Promise<void> {
  const c = new Classifier(rules);
  await gitChanges(dir, range, (f) => c.add(f));
  c.finish();
}

/** A unified diff of about `bytes` adding source files whose lines are `SELECT` and 4,000 spaces (what made raw_sql backtrack), plus one 200 KB line. */
function hostileDiff(bytes: number): string {
  const line = `+SELECT${' '.repeat(4000)}x`;
  const out: string[] = [];
  let size = 0;
  for (let f = 0; size < bytes; f++) {
    const lines = Array.from({ length: 16 }, () => line);
    if (f === 0) lines.push(`+const blob = "${'A'.repeat(200_000)}";`);
    out.push(`diff --git a/src/q${f}.ts b/src/q${f}.ts`, 'new file mode 100644', '--- /dev/null', `+++ b/src/q${f}.ts`, `@@ -0,0 +1,${lines.length} @@`, ...lines);
    size += lines.reduce((n, l) => n + l.length + 1, 0);
  }
  return `${out.join('\n')}\n`;
}

/** The longest event-loop stall while `fn` runs, in ms (a 1 ms timer keeps asking for turns). */
async function maxStall(fn: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  const tick = setInterval(() => {}, 1);
  h.enable();
  try {
    await fn();
  } finally {
    h.disable();
    clearInterval(tick);
  }
  return h.max / 1e6;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
function timeSync(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-classify-'));
  try {
    const { base, head } = makeRange(dir);
    const config = parseConfig({});
    const rules = compileRules(config.changes);
    const changes = await gitChanges(dir, { base, head });
    const first = await classifyChange({ root: dir, config, clock: Date.now, env: process.env }, { base, head });
    const numstat: number[] = [];
    const full: number[] = [];
    const engine: number[] = [];
    const gitOnly: number[] = [];
    const parse: number[] = [];
    const rawOut = await git(dir, [...DIFF_ARGS, base, head, '--']);
    const native = compileRules(config.changes, nativeEngine);
    if (JSON.stringify(classify(changes.files, native)) !== JSON.stringify(classify(changes.files, rules))) throw new Error('RE2 and native RegExp disagree on the ordinary range');
    const re2Engine: number[] = [];
    const nativeRules: number[] = [];
    const re2Stream: number[] = [];
    const nativeStream: number[] = [];
    const served: number[] = [];
    // In memory the rules take ~15 ms, so more rounds; the order alternates so drift hits both alike.
    for (let r = 0; r < RUNS * 5; r++) {
      const pair = [() => re2Engine.push(timeSync(() => classify(changes.files, rules))), () => nativeRules.push(timeSync(() => classify(changes.files, native)))];
      for (const run of r % 2 ? pair.reverse() : pair) run();
    }
    for (let r = 0; r < RUNS; r++) {
      re2Stream.push(await time(() => streamed(dir, { base, head }, rules)));
      nativeStream.push(await time(() => streamed(dir, { base, head }, native)));
      served.push(await time(() => classifyChange({ root: dir, config, clock: Date.now, env: process.env }, { base, head })));
    }
    const hostile = hostileDiff(1024 * 1024);
    const stalls = {
      range_5000_files_ms: +(await maxStall(() => classifyChange({ root: dir, config, clock: Date.now, env: process.env }, { base, head }))).toFixed(1),
      hostile_1mb_diff_ms: 0,
    };
    let hostileMs = 0;
    let hostileLevel = '';
    stalls.hostile_1mb_diff_ms = +(
      await maxStall(async () => {
        hostileMs = await time(async () => (hostileLevel = (await classifyChange({ root: dir, config, clock: Date.now, env: process.env }, { diff: hostile })).level));
      })
    ).toFixed(1);
    // The old engine on one hostile line of 1,000 spaces (cubic: 4,000 spaces took 12 s), for scale.
    const oldLine = `SELECT${' '.repeat(1000)}x`;
    const rawSql = nativeEngine([{ source: DEFAULT_RULES.find((r) => r.id === 'raw_sql')?.pattern as string, ignoreCase: false }]);
    const oldMs = await time(async () => rawSql.match(oldLine));
    for (let r = 0; r < RUNS; r++) {
      // Interleaved so that load from others on the machine hits both alike.
      numstat.push(await time(() => git(dir, ['diff', '--numstat', base, head])));
      full.push(await time(() => classifyChange({ root: dir, config, clock: Date.now, env: process.env }, { base, head })));
      engine.push(await time(async () => classify(changes.files, rules)));
      gitOnly.push(await time(() => git(dir, [...DIFF_ARGS, base, head, '--'])));
      parse.push(await time(async () => parseUnifiedDiff(rawOut)));
    }
    const m = { numstat: median(numstat), classify: median(full), engine: median(engine), git: median(gitOnly), parse: median(parse) };
    const out = {
      files: first.stats.files,
      lines: first.stats.additions + first.stats.deletions,
      level: first.level,
      runs: RUNS,
      numstat_ms: +m.numstat.toFixed(1),
      classify_ms: +m.classify.toFixed(1),
      of_which: { git_diff_patch_ms: +m.git.toFixed(1), parse_ms: +m.parse.toFixed(1), rule_engine_ms: +m.engine.toFixed(1) },
      ratio: +(m.classify / m.numstat).toFixed(2),
      best_of: { numstat_ms: +Math.min(...numstat).toFixed(1), classify_ms: +Math.min(...full).toFixed(1), ratio: +(Math.min(...full) / Math.min(...numstat)).toFixed(2) },
      target: 1.5,
      engine: {
        rules_only_ms: { re2: +median(re2Engine).toFixed(1), native: +median(nativeRules).toFixed(1), ratio: +(median(re2Engine) / median(nativeRules)).toFixed(2) },
        streamed_range_ms: { re2: +median(re2Stream).toFixed(1), native: +median(nativeStream).toFixed(1), ratio: +(median(re2Stream) / median(nativeStream)).toFixed(2), target: 1.3 },
        classify_change_with_pauses_ms: +median(served).toFixed(1),
      },
      max_event_loop_stall: { ...stalls, target_ms: 100 },
      hostile_1mb: { bytes: hostile.length, classify_ms: +hostileMs.toFixed(1), level: hostileLevel, old_engine_one_1000_space_line_ms: +oldMs.toFixed(1) },
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
