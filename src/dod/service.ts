import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { DOD_CHECKS, type CheckDodInput, type CheckDodResult, type DodComponent } from '../../schemas/dod.js';
import type { Config } from '../../schemas/config.js';
import {
  aggregate,
  clip,
  combine,
  configSkip,
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
  type DodStatus,
  type TestOutcomes,
  type Verdict,
} from './domain.js';
import { phaseKey } from '../core/ids.js';
import { InputError } from '../core/errors.js';
import { gateWeakenings } from '../core/config.js';
import { runCommand, type RunResult } from '../integrations/run.js';
import { checkoutOf } from '../integrations/checkouts.js';
import { writeTx } from '../core/db.js';
import type { Baseline } from './store.js';
import { councilAdjustmentItems } from '../council/service.js';
import type { Store } from '../core/store.js';
import { baseCommit, changedFiles, currentBranch, defaultBranch, diffText, headCommit, tempWorktree, workingTreeHash } from './repo.js';
import { scanSecrets } from './secrets.js';
import { dodStatus, publishGates } from '../governance/statuses.js';

export type CheckId = (typeof DOD_CHECKS)[number];
type CommandCheck = 'compiles' | 'tests' | 'lint' | 'format';
type Input = z.output<typeof CheckDodInput>;

/** A mandatory DoD item beyond the ten (the council's adjustments, acknowledged in checkpoints). */
export interface DodItem {
  id: string;
  ok: boolean;
  detail: string;
}
/** Supplies extra mandatory items for a phase. */
export type DodItemsProvider = (q: { store: Store; mega: string; phase: string }) => DodItem[] | Promise<DodItem[]>;
/** The council's mandatory adjustments, acknowledged in checkpoints. */
export const DOD_ITEM_PROVIDERS: readonly DodItemsProvider[] = [councilAdjustmentItems];

export interface DodDeps {
  store: Store;
  config: Config;
  root: string;
  clock: () => number;
  /** Who asks (recorded with the run); null for the CLI. */
  instance: string | null;
  /** The phase to judge when none is named: the caller's single claim. */
  defaultPhase?: () => { mega: string; id: string } | null;
  env?: NodeJS.ProcessEnv;
  itemProviders?: readonly DodItemsProvider[];
}

export interface DodOptions {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void | Promise<void>;
  /** false: run everything afresh (the bench). */
  cache?: boolean;
}

interface Component {
  name: string;
  where: string;
  dir: string;
  detected: boolean;
  detail: string;
  paths: string[];
  commands: Partial<Record<CommandCheck, string[] | false>>;
  /** Checks the test run waits for (their success); built output must exist before tests import it. */
  after: readonly ('compiles' | 'lint' | 'format')[];
  testReport?: string;
  warningPattern: string;
  timeoutMs: number;
  thresholds: DodComponent['thresholds'];
  key: string;
}

const PROGRESS_EVERY_MS = 5000;
const TREE_CHECKS: readonly CheckId[] = ['compiles', 'tests', 'no_regressions', 'lint', 'format', 'no_secrets'];

const sha = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** At most `n` tasks at once. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

async function resolveRoot(deps: DodDeps, cwd: string | undefined): Promise<string> {
  if (cwd === undefined) {
    if (!fs.existsSync(path.join(deps.root, '.git'))) throw new InputError('cwd', `the server root ${deps.root} is not a git repository: pass the repository or worktree to check`);
    return deps.root;
  }
  return (await checkoutOf(deps.root, cwd)).top;
}

function components(config: Config, root: string): Component[] {
  const cfg = config.dod;
  if (cfg.components.length) {
    return cfg.components.map((c, i) => {
      const base = { name: c.name, where: `dod.components[${i}]`, dir: c.dir, detected: false, detail: `configured (${c.paths.join(', ')})`, paths: c.paths, commands: c.commands, after: c.after, testReport: c.test_report, warningPattern: c.warning_pattern, timeoutMs: c.timeout_seconds * 1000, thresholds: c.thresholds };
      return { ...base, key: sha(base) };
    });
  }
  const read = (f: string) => (fs.existsSync(path.join(root, f)) ? fs.readFileSync(path.join(root, f), 'utf8') : undefined);
  const d = detectCommands({ packageJson: read('package.json'), cargo: fs.existsSync(path.join(root, 'Cargo.toml')), gomod: fs.existsSync(path.join(root, 'go.mod')), pyproject: fs.existsSync(path.join(root, 'pyproject.toml')) });
  const base = {
    name: 'detected',
    where: 'dod.components[]',
    dir: '.',
    detected: true,
    detail: d ? `detected from ${d.detail}` : 'nothing detected (no package.json, Cargo.toml, go.mod or pyproject.toml): configure dod.components',
    paths: ['**'],
    commands: d?.commands ?? {},
    after: ['compiles' as const],
    warningPattern: '\\bwarn(ing)?\\b',
    timeoutMs: 600_000,
    thresholds: { zero_warnings: false },
  };
  return [{ ...base, key: sha(base) }];
}

/**
 * Runs the Definition of Done: the ten checks, in parallel where independent, with the per-check
 * cache by working tree, config and base; stores the run with its phase. The tool and the CLI call this.
 */
export async function checkDod(deps: DodDeps, input: Input, opts: DodOptions = {}): Promise<CheckDodResult> {
  const { store, config } = deps;
  const cfg = config.dod;
  // ---- input, checked before anything runs or is written
  if ((input.mega === undefined) !== (input.phase === undefined)) throw new InputError(input.mega === undefined ? 'mega' : 'phase', 'give mega and phase together');
  let phase: { mega: string; id: string } | null = null;
  if (input.mega !== undefined && input.phase !== undefined) {
    phase = { mega: input.mega, id: phaseKey(input.phase) };
    if (!store.dod.phaseState(phase.mega, phase.id)) throw new InputError('phase', `unknown phase ${JSON.stringify(input.phase)} in MEGA ${input.mega}`);
  } else phase = deps.defaultPhase?.() ?? null;
  const root = await resolveRoot(deps, input.cwd);
  const all = components(config, root);
  if (input.component !== undefined && !all.some((c) => c.name === input.component)) {
    throw new InputError('component', `unknown component ${JSON.stringify(input.component)} (configured: ${all.map((c) => c.name).join(', ')})`);
  }
  (input.only ?? []).forEach((id, i) => {
    if (!(DOD_CHECKS as readonly string[]).includes(id)) throw new InputError(`only[${i}]`, `unknown check ${JSON.stringify(id)} (one of ${DOD_CHECKS.join(', ')})`);
  });
  const want = new Set<CheckId>((input.only as CheckId[] | undefined) ?? DOD_CHECKS);
  const useCache = opts.cache !== false && input.fresh !== true;

  // ---- where we are
  const [tree, base] = await Promise.all([
    workingTreeHash(root),
    defaultBranch(root, cfg.base_branch).then((b) => (b ? baseCommit(root, b).catch(() => null) : null)),
  ]);
  const noBase = `no default branch to compare with${cfg.base_branch ? ` (${cfg.base_branch} not found)` : ''}: set dod.base_branch`;
  let selected = all;
  if (input.component !== undefined) selected = all.filter((c) => c.name === input.component);
  else if (all.length > 1 && base) {
    const changed = await changedFiles(root, base, tree);
    const touched = all.filter((c) => {
      const owns = componentPaths(c.paths);
      return changed.some((f) => owns.test(f));
    });
    if (touched.length) selected = touched;
  }

  const limit = limiter(cfg.concurrency);
  const exec = (argv: string[], cwd: string, timeoutMs: number): Promise<RunResult> =>
    limit(() => runCommand(argv, { cwd, timeoutMs, maxOutputBytes: cfg.max_output_bytes, env: deps.env, passEnv: cfg.pass_env, setEnv: { NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true' }, signal: opts.signal }));
  const fresh: { key: { component: string; check: string; config: string }; r: CheckResult }[] = [];
  const cacheKey = (component: string, check: string, config: string) => ({ tree, config, base: base ?? '', component, check });
  const fromCache = (c: Component, check: CheckId): (Verdict & { duration_ms: number }) | null => {
    if (!useCache) return null;
    const hit = store.dod.cached(cacheKey(c.name, check, c.key));
    // Only passes are cached (a skip by config costs nothing to decide again).
    return hit?.status === 'pass' ? { status: hit.status as DodStatus, detail: hit.detail, duration_ms: hit.duration_ms } : null;
  };

  /** A command's outcome as a verdict when it did not simply run to an exit code. */
  const broken = (r: RunResult, c: Component, check: CommandCheck): Verdict | null => {
    const cmd = r.command.join(' ');
    if (r.spawnError) {
      return /ENOENT/.test(r.spawnError)
        ? { status: 'error', detail: `command not found: ${r.command[0]} (from ${c.where}.commands.${check}): install it or fix the config` }
        : { status: 'error', detail: clip(`could not start ${cmd}: ${r.spawnError}`) };
    }
    if (r.cancelled) return { status: 'error', detail: `cancelled: ${cmd}` };
    if (r.timedOut) return { status: 'error', detail: `timed out after ${secs(c.timeoutMs)} and was stopped: ${cmd}` };
    return null;
  };
  const capped = (r: RunResult) => (r.truncated ? ` (output capped at ${cfg.max_output_bytes} bytes)` : '');
  const cwdOf = (c: Component, top: string) => path.resolve(top, c.dir);
  const missing = (c: Component, check: CommandCheck): Verdict => ({
    status: 'error',
    detail: `no ${check} command${c.detected ? ` detected (${c.detail})` : ''}: set ${c.where}.commands.${check} (false if it does not apply)`,
  });

  // ---- baselines (lazy: only when a failing test or a lint warning needs comparing)
  const baselines = new Map<string, Promise<Baseline | { error: string }>>();
  const baselineOf = (c: Component): Promise<Baseline | { error: string }> => {
    let p = baselines.get(c.name);
    if (!p) {
      p = (async () => {
        if (!base) return { error: noBase };
        const have = store.dod.baseline(base, c.key, c.name);
        if (have) return have;
        const wt = await tempWorktree(root, base);
        try {
          const dir = cwdOf(c, wt.dir);
          if (!fs.existsSync(dir)) {
            // The component is new in this change: nothing passed or warned before it.
            const empty: Baseline = { passed_tests: [], warnings: [] };
            writeTx(store.db, () => store.dod.putBaseline(base, c.key, c.name, empty, deps.clock()));
            return empty;
          }
          const testsCmd = c.commands.tests;
          const lintCmd = c.commands.lint;
          const reportFile = c.testReport ? path.resolve(dir, c.testReport) : null;
          const [t, l] = await Promise.all([testsCmd && reportFile ? exec(testsCmd, dir, c.timeoutMs) : null, lintCmd ? exec(lintCmd, dir, c.timeoutMs) : null]);
          for (const r of [t, l]) if (r && (r.cancelled || r.timedOut || r.spawnError)) return { error: `baseline on ${base.slice(0, 12)}: ${r.spawnError ?? (r.cancelled ? 'cancelled' : 'timed out')}` };
          let passed: string[] | null = null;
          if (reportFile && fs.existsSync(reportFile)) {
            try {
              passed = parseTestReport(fs.readFileSync(reportFile, 'utf8')).passed;
            } catch {
              passed = null;
            }
          }
          const b: Baseline = { passed_tests: passed, warnings: l ? lintWarnings(l.output, c.warningPattern, [dir, wt.dir]) : null };
          writeTx(store.db, () => store.dod.putBaseline(base, c.key, c.name, b, deps.clock()));
          return b;
        } finally {
          await wt.dispose();
        }
      })().catch((e: unknown) => ({ error: `baseline failed: ${(e as Error).message}` }));
      baselines.set(c.name, p);
    }
    return p;
  };

  // ---- per-component command checks
  const simple = async (c: Component, check: 'compiles' | 'format'): Promise<Verdict> => {
    const spec = c.commands[check];
    if (spec === false) return configSkip(`does not apply (${c.where}.commands.${check} is false)`);
    if (!spec) return missing(c, check);
    const r = await exec(spec, cwdOf(c, root), c.timeoutMs);
    const bad = broken(r, c, check);
    if (bad) return bad;
    if (r.exitCode === 0) return { status: 'pass', detail: `${spec.join(' ')}: ok${capped(r)}` };
    const what = check === 'format' ? 'reports a formatting diff' : `exited ${r.exitCode}`;
    return { status: 'fail', detail: clip(`${spec.join(' ')} ${what}: ${excerpt(r.output)}${capped(r)}`) };
  };

  const testsAndRegressions = async (c: Component): Promise<{ tests: Verdict; regressions: Verdict }> => {
    const spec = c.commands.tests;
    if (spec === false) {
      const skip = configSkip(`does not apply (${c.where}.commands.tests is false)`);
      return { tests: skip, regressions: skip };
    }
    if (!spec) return { tests: missing(c, 'tests'), regressions: missing(c, 'tests') };
    const dir = cwdOf(c, root);
    const reportFile = c.testReport ? path.resolve(dir, c.testReport) : null;
    if (reportFile) fs.rmSync(reportFile, { force: true }); // never read a stale report
    const r = await exec(spec, dir, c.timeoutMs);
    const bad = broken(r, c, 'tests');
    if (bad) return { tests: bad, regressions: { status: 'error', detail: `tests did not run to the end: ${bad.detail}` } };
    let now: TestOutcomes | null = null;
    let reportError: string | null = null;
    if (reportFile) {
      try {
        now = parseTestReport(fs.readFileSync(reportFile, 'utf8'));
      } catch (e) {
        reportError = (e as Error).message;
      }
    }
    const failing = now?.failed.length ? `failing: ${now.failed.slice(0, 10).join('; ')} | ` : '';
    let tests: Verdict = r.exitCode === 0 ? { status: 'pass', detail: `${spec.join(' ')}: ok${capped(r)}` } : { status: 'fail', detail: clip(`${spec.join(' ')} exited ${r.exitCode}: ${failing}${excerpt(r.output)}${capped(r)}`) };
    if (tests.status === 'pass' && c.thresholds.min_coverage !== undefined) {
      const file = path.resolve(dir, c.thresholds.coverage_summary ?? 'coverage/coverage-summary.json');
      try {
        const pct = coveragePct(fs.readFileSync(file, 'utf8'));
        tests = pct >= c.thresholds.min_coverage
          ? { status: 'pass', detail: `${tests.detail}; coverage ${pct}% ≥ ${c.thresholds.min_coverage}%` }
          : { status: 'fail', detail: `tests pass but line coverage ${pct}% is below the minimum ${c.thresholds.min_coverage}%` };
      } catch (e) {
        tests = { status: 'error', detail: clip(`coverage summary ${path.relative(root, file)} unreadable: ${(e as Error).message}`) };
      }
    }
    // no_regressions
    if (reportError !== null) return { tests, regressions: { status: 'error', detail: clip(`test report ${c.testReport} not usable after the run: ${reportError}`) } };
    if (!now) {
      return {
        tests,
        regressions: r.exitCode === 0
          ? { status: 'pass', detail: `no failing tests (set ${c.where}.test_report to name regressions)` }
          : { status: 'error', detail: `tests fail and no test report is configured, so regressions cannot be told from new failures: set ${c.where}.test_report` },
      };
    }
    if (!now.failed.length) return { tests, regressions: { status: 'pass', detail: `${now.passed.length} tests, none failing` } };
    const b = await baselineOf(c);
    if ('error' in b) return { tests, regressions: { status: 'error', detail: b.error } };
    if (!b.passed_tests) return { tests, regressions: { status: 'error', detail: `the baseline on ${base?.slice(0, 12)} wrote no test report` } };
    const reg = regressions(b.passed_tests, now);
    return {
      tests,
      regressions: reg.length
        ? { status: 'fail', detail: clip(`${reg.length} test(s) passed on ${base?.slice(0, 12)} and fail now: ${reg.join('; ')}`) }
        : { status: 'pass', detail: `${now.failed.length} failing test(s), none passed on ${base?.slice(0, 12)}` },
    };
  };

  const lint = async (c: Component): Promise<Verdict> => {
    const spec = c.commands.lint;
    if (spec === false) return configSkip(`does not apply (${c.where}.commands.lint is false)`);
    if (!spec) return missing(c, 'lint');
    const dir = cwdOf(c, root);
    const r = await exec(spec, dir, c.timeoutMs);
    const bad = broken(r, c, 'lint');
    if (bad) return bad;
    if (r.exitCode !== 0) return { status: 'fail', detail: clip(`${spec.join(' ')} exited ${r.exitCode}: ${excerpt(r.output)}${capped(r)}`) };
    const warnings = lintWarnings(r.output, c.warningPattern, [dir, root]);
    if (!warnings.length) return { status: 'pass', detail: `${spec.join(' ')}: no warnings${capped(r)}` };
    if (c.thresholds.zero_warnings) return { status: 'fail', detail: clip(`${warnings.length} warning(s) and zero_warnings is set: ${warnings.slice(0, 5).join(' | ')}`) };
    const b = await baselineOf(c);
    if ('error' in b) return { status: 'error', detail: `${warnings.length} warning(s) and no baseline to compare: ${b.error}` };
    const added = newWarnings(warnings, b.warnings ?? []);
    return added.length
      ? { status: 'fail', detail: clip(`${added.length} new warning(s) vs ${base?.slice(0, 12)}: ${added.slice(0, 5).join(' | ')}`) }
      : { status: 'pass', detail: `${warnings.length} warning(s), none new vs ${base?.slice(0, 12)}` };
  };

  // ---- the checks, each a promise; progress as each settles
  const results = new Map<CheckId, Promise<CheckResult>>();
  let done = 0;
  const total = want.size;
  const settle = (id: CheckId, p: Promise<CheckResult>) => {
    const q = p.then(async (r) => {
      done++;
      await Promise.resolve(opts.progress?.(done, total, `${id}: ${r.status}`)).catch(() => undefined);
      return r;
    });
    results.set(id, q);
  };
  const timed = async (fn: () => Promise<Verdict>): Promise<Verdict & { duration_ms: number }> => {
    const t0 = Date.now();
    try {
      const v = await fn();
      return { ...v, duration_ms: Date.now() - t0 };
    } catch (e) {
      return { status: 'error', detail: clip(`internal error: ${(e as Error).message}`), duration_ms: Date.now() - t0 };
    }
  };

  type Step = 'compiles' | 'tests' | 'no_regressions' | 'lint' | 'format';
  type Part = Verdict & { component: string; duration_ms: number; cached: boolean };
  const parts = new Map<string, Promise<Part>>();
  /** Whether the component's test run must happen now (a wanted test verdict is not cached). */
  const testRunNeeded = (c: Component) => (['tests', 'no_regressions'] as const).some((id) => want.has(id) && !fromCache(c, id));
  /**
   * One check of one component, run once per call. A check the test run waits for is run afresh
   * whenever the tests run, so they never meet build output left by another tree.
   */
  const partOf = (c: Component, id: Step): Promise<Part> => {
    const k = `${c.name}\0${id}`;
    let p = parts.get(k);
    if (!p) {
      p = (async (): Promise<Part> => {
        const dependedOn = (c.after as readonly string[]).includes(id) && testRunNeeded(c);
        const hit = dependedOn ? null : fromCache(c, id);
        if (hit) return { component: c.name, ...hit, cached: true };
        const v = await runners[id](c);
        if (v.status === 'pass') fresh.push({ key: { component: c.name, check: id, config: c.key }, r: { id, ...v } });
        return { component: c.name, ...v, cached: false };
      })();
      parts.set(k, p);
    }
    return p;
  };

  // tests and no_regressions share one run of the test command, after the checks it waits for
  const testRuns = new Map<string, Promise<{ tests: Verdict; regressions: Verdict; duration_ms: number }>>();
  const testRun = (c: Component) => {
    let p = testRuns.get(c.name);
    if (!p) {
      p = (async () => {
        const before = await Promise.all(c.after.map(async (d) => ({ id: d, ...(await partOf(c, d)) })));
        const t0 = Date.now();
        // A check without a command (its own error says so) has built nothing to wait for.
        const failed = before.filter((b) => (b.status === 'fail' || b.status === 'error') && c.commands[b.id] !== undefined).map((b) => b.id);
        const ran = failed.length
          ? ((v: Verdict) => ({ tests: v, regressions: v }))({ status: 'fail', detail: `not run: ${failed.join(' and ')} failed (${c.where}.after)` })
          : await testsAndRegressions(c).catch((e: unknown) => {
              const v: Verdict = { status: 'error', detail: clip(`internal error: ${(e as Error).message}`) };
              return { tests: v, regressions: v };
            });
        return { ...ran, duration_ms: Date.now() - t0 };
      })();
      testRuns.set(c.name, p);
    }
    return p;
  };
  const runners: Record<Step, (c: Component) => Promise<Verdict & { duration_ms: number }>> = {
    compiles: (c) => timed(() => simple(c, 'compiles')),
    tests: (c) => testRun(c).then((x) => ({ ...x.tests, duration_ms: x.duration_ms })),
    no_regressions: (c) => testRun(c).then((x) => ({ ...x.regressions, duration_ms: x.duration_ms })),
    lint: (c) => timed(() => lint(c)),
    format: (c) => timed(() => simple(c, 'format')),
  };
  // compiles first: the test run waits for it; lint and format share the other slots meanwhile.
  for (const id of ['compiles', 'tests', 'no_regressions', 'lint', 'format'] as const) {
    if (!want.has(id)) continue;
    settle(
      id,
      Promise.all(selected.map((c) => partOf(c, id))).then((ps) => ({ id, ...combine(ps), duration_ms: Math.max(...ps.map((p) => p.duration_ms)), cached: ps.every((p) => p.cached) })),
    );
  }

  if (want.has('no_secrets')) {
    const secretsKey = sha({ secrets: cfg.secrets });
    settle(
      'no_secrets',
      (async (): Promise<CheckResult> => {
        const hit = useCache ? store.dod.cached(cacheKey('*', 'no_secrets', secretsKey)) : undefined;
        if (hit?.status === 'pass') return { id: 'no_secrets', status: hit.status as DodStatus, detail: hit.detail, duration_ms: hit.duration_ms, cached: true };
        const v = await timed(async () => {
          if (cfg.secrets === 'skip') return configSkip('does not apply (dod.secrets is "skip")');
          if (!base) return { status: 'error', detail: noBase };
          const { status, detail } = await scanSecrets(root, await diffText(root, base, tree), cfg.secrets, opts.signal); // the detail names the scanner
          return { status, detail };
        });
        const r: CheckResult = { id: 'no_secrets', ...v, cached: false };
        if (v.status === 'pass') fresh.push({ key: { component: '*', check: 'no_secrets', config: secretsKey }, r });
        return r;
      })(),
    );
  }

  let pull: { number: number; sha: string; branch: string } | undefined; // the PR pr_created found: where the gates go
  if (cfg.github === 'off') {
    const v = configSkip('skipped by config: dod.github is "off" (no GitHub for this repository, so no pull request or CI to check)');
    for (const id of ['pr_created', 'ci_green'] as const) if (want.has(id)) settle(id, Promise.resolve({ id, ...v, duration_ms: 0 }));
  } else if (want.has('pr_created') || want.has('ci_green')) {
    const t0 = Date.now();
    const gh = (async (): Promise<{ pr: Verdict; ci: Verdict }> => {
      // Loaded on first use: octokit is heavy, and a server that never checks a PR should not pay for it.
      const [{ githubClient, NO_GITHUB_TOKEN, NO_GITHUB_REPO, resolveGithubRepo }, { prAndCi }] = await Promise.all([import('../integrations/github.js'), import('./github.js')]);
      const octo = githubClient(deps.env ?? process.env);
      if (!octo) {
        const v: Verdict = { status: 'error', detail: `${NO_GITHUB_TOKEN} (FACTORY_GITHUB_API_URL for GitHub Enterprise); without it the PR and CI cannot be checked` };
        return { pr: v, ci: v };
      }
      const slug = await resolveGithubRepo(root, deps.config.github);
      const [br, head] = await Promise.all([currentBranch(root), headCommit(root)]);
      const fail = (detail: string): { pr: Verdict; ci: Verdict } => ({ pr: { status: 'error', detail }, ci: { status: 'error', detail } });
      if (!slug) return fail(NO_GITHUB_REPO);
      if (!br || !head) return fail('HEAD is not on a branch: check out the branch of the pull request');
      const r = await prAndCi(octo, { ...slug, branch: br, head: head.commit, required: cfg.required_checks, minChecks: cfg.min_checks });
      if (r.pull) pull = { ...r.pull, branch: br };
      // CI has seen commits only: work that is not committed is not proven green.
      if (head.tree !== tree && r.ci.status === 'pass') r.ci = { status: 'fail', detail: 'the working tree has uncommitted changes that CI has not seen: commit and push them' };
      return r;
    })().catch((e: unknown) => {
      const v: Verdict = { status: 'error', detail: clip(`GitHub lookup failed: ${(e as Error).message}`) };
      return { pr: v, ci: v };
    });
    if (want.has('pr_created')) settle('pr_created', gh.then((x) => ({ id: 'pr_created', ...x.pr, duration_ms: Date.now() - t0 })));
    if (want.has('ci_green')) settle('ci_green', gh.then((x) => ({ id: 'ci_green', ...x.ci, duration_ms: Date.now() - t0 })));
  }

  const noPhase: Verdict = { status: 'error', detail: 'no phase to judge: pass mega and phase, or hold exactly one claim' };
  for (const id of ['state_updated', 'session_logged'] as const) {
    if (!want.has(id)) continue;
    const t0 = Date.now();
    let v: Verdict = noPhase;
    if (phase) {
      const ps = store.dod.phaseState(phase.mega, phase.id);
      const owner = ps?.owner ?? ps?.completed_by ?? null;
      if (!ps || ps.claimed_at === null) v = { status: 'fail', detail: `${phase.mega}/${phase.id} was never claimed` };
      else {
        const ops = store.dod.evidence(phase.mega, phase.id, owner, ps.claimed_at);
        v = id === 'state_updated' ? stateVerdict(ops, phase.mega, phase.id, ps.claimed_at) : sessionVerdict(ops, owner, phase.mega, phase.id);
      }
    }
    settle(id, Promise.resolve({ id, ...v, duration_ms: Date.now() - t0 }));
  }

  const mandatory: DodItem[] = [];
  if (phase) for (const provider of deps.itemProviders ?? DOD_ITEM_PROVIDERS) mandatory.push(...(await provider({ store, mega: phase.mega, phase: phase.id })));

  // Long runs keep reporting, so that a client resetting its timeout on progress waits for the commands.
  const pendingIds = new Set(results.keys());
  for (const [id, p] of results) void p.then(() => pendingIds.delete(id));
  const ticker = opts.progress
    ? setInterval(() => void Promise.resolve(opts.progress?.(done, total, `running: ${[...pendingIds].join(', ')}`)).catch(() => undefined), PROGRESS_EVERY_MS)
    : null;
  let checks: CheckResult[];
  try {
    checks = await Promise.all(DOD_CHECKS.filter((id) => want.has(id)).map((id) => results.get(id) as Promise<CheckResult>));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  const { passed, score, skipped } = aggregate(checks, DOD_CHECKS.length, mandatory.every((m) => m.ok));
  const treeChecks = checks.filter((c) => TREE_CHECKS.includes(c.id as CheckId));
  const cached = treeChecks.length > 0 && treeChecks.every((c) => c.cached === true);
  const partial = want.size < DOD_CHECKS.length;
  const failing = checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id);
  const scope = `${phase ? ` for ${phase.mega}/${phase.id}` : ''} [${selected.map((c) => c.name).join(', ')}]`;
  const weakened = gateWeakenings(config).filter((w) => w.startsWith('dod.'));
  const message = `DoD ${score}${scope}${partial ? ' (partial: only some checks ran)' : ''}: ${passed ? (skipped ? `everything else passes (${skipped} skipped by config)` : 'all ten pass') : `not done${failing.length ? ` — ${failing.join(', ')}` : ''}${mandatory.some((m) => !m.ok) ? ' — mandatory items open' : ''}`}${cached ? ' (cached)' : ''}${weakened.length ? ` — config weakens gates: ${weakened.join('; ')}` : ''}`;

  if (!opts.signal?.aborted) {
    writeTx(store.db, () => {
      const now = deps.clock();
      for (const f of fresh) store.dod.putCache(cacheKey(f.key.component, f.key.check, f.key.config), f.r, now);
      store.dod.record(now, { instance: deps.instance, mega: phase?.mega ?? null, phase: phase?.id ?? null, tree, base, passed, partial, score, cached, checks });
      if (phase && pull) store.dod.putPull(phase.mega, phase.id, pull, now);
    });
    // A full run is a decision of the gate: published on the PR head (src/statuses.ts), never awaited.
    if (!partial && pull) {
      const { state, description } = dodStatus({ passed, score, failing });
      const dod = { sha: pull.sha, state, description };
      void publishGates({ store, config, root, clock: deps.clock, env: deps.env }, phase ? { mega: phase.mega, phase: phase.id, sha: pull.sha, dod } : { dod });
    }
  }
  const detected = selected.find((c) => c.detected)?.detail;
  return {
    passed,
    score,
    // Mandatory items (council adjustments) follow the ten as checks of their own, outside the score.
    checks: [...checks, ...mandatory.map((m): CheckResult => ({ id: `mandatory:${m.id}`, status: m.ok ? 'pass' : 'fail', duration_ms: 0, detail: m.detail }))],
    cached,
    ...(detected ? { detected } : {}),
    message,
  };
}

const MARK: Record<DodStatus, string> = { pass: '✔', fail: '✘', skip: '–', error: '!' };

/** The checklist as lines, for the tool's text and the CLI. */
export function renderDod(r: CheckDodResult): string[] {
  return [
    r.message,
    ...r.checks.map((c) => `${MARK[c.status]} ${c.id.padEnd(15)} ${c.status.padEnd(5)} ${secs(c.duration_ms).padStart(6)}${c.cached ? ' (cached)' : ''}  ${c.detail}`),
    ...(r.detected ? [`component ${r.detected}`] : []),
  ];
}
