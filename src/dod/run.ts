/**
 * One DoD run: where it stands (the working tree's hash, the base commit, the components the change
 * touches), what it may use (commands through a limiter, passes kept per tree, config and base), the
 * order of its checks (a component's tests wait for its build: `after`), progress, and the answer
 * assembled, recorded and published. The checks themselves are the modules of src/dod/checks/.
 */
import { DOD_CHECKS, type CheckDodResult } from '../../schemas/dod.js';
import type { Config } from '../../schemas/config.js';
import { gateWeakenings } from '../core/config.js';
import type { Store } from '../core/store.js';
import { runCommand, type RunResult } from '../integrations/run.js';
import { dodStatus, publishGates } from '../governance/statuses.js';
import { aggregate, combine, componentPaths, internalError, type CheckResult, type Verdict } from './domain.js';
import { baseCommit, changedFiles, defaultBranch, workingTreeHash } from './repo.js';
import type { CommandCheck, Component } from './components.js';
import type { CachedPass, CheckId, ComponentCheck, DodCheck, PullRef, RepoCheck, Run } from './checks/check.js';
import { CHECKS } from './checks/index.js';

const PROGRESS_EVERY_MS = 5000;

/** Which module decides each id. */
const OWNER = new Map<CheckId, DodCheck>(CHECKS.flatMap((c) => c.ids.map((id) => [id, c] as const)));
const missing = DOD_CHECKS.filter((id) => !OWNER.has(id));
if (missing.length || CHECKS.reduce((n, c) => n + c.ids.length, 0) !== DOD_CHECKS.length) {
  throw new Error(`src/dod/checks/index.ts must decide each of DOD_CHECKS exactly once (undecided: ${missing.join(', ') || 'none'})`);
}
const COMPONENT_CHECKS = CHECKS.filter((c): c is ComponentCheck => c.per === 'component');
/** The checks that judge the working tree: the answer is `cached` when all of these were. */
const TREE_CHECKS = new Set(CHECKS.filter((c) => c.per === 'component' || c.tree).flatMap((c) => c.ids));

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

export interface RunSetup {
  store: Store;
  config: Config;
  env: NodeJS.ProcessEnv;
  clock: () => number;
  root: string;
  phase: { mega: string; id: string } | null;
  /** Every component of the repository; the run checks those the change touches. */
  components: Component[];
  /** The one component asked for, if any. */
  component: string | undefined;
  want: ReadonlySet<CheckId>;
  /** false: no pass is taken from the cache. */
  useCache: boolean;
  signal: AbortSignal | undefined;
  progress: ((done: number, total: number, message: string) => void | Promise<void>) | undefined;
}

type Part = Verdict & { component: string; duration_ms: number; cached: boolean };
type Decision = { verdicts: Partial<Record<CheckId, Verdict>>; duration_ms: number };

export class DodRun implements Run {
  pull: PullRef | undefined;
  readonly store: Store;
  readonly config: Config;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: () => number;
  readonly root: string;
  readonly phase: { mega: string; id: string } | null;
  readonly signal: AbortSignal | undefined;
  readonly noBase: string;
  readonly exec: (argv: string[], cwd: string, timeoutMs: number) => Promise<RunResult>;
  private readonly kept: { key: { component: string; check: string; config: string }; r: CheckResult }[] = [];
  private readonly shared = new Map<string, Promise<unknown>>();
  private readonly parts = new Map<string, Promise<Part>>();
  private readonly pending = new Map<CheckId, Promise<CheckResult>>();
  private done = 0;

  private constructor(
    private readonly s: RunSetup,
    readonly tree: string,
    readonly base: string | null,
    /** The components checked. */
    readonly selected: Component[],
  ) {
    ({ store: this.store, config: this.config, env: this.env, clock: this.clock, root: this.root, phase: this.phase, signal: this.signal } = s);
    const cfg = s.config.dod;
    this.noBase = `no default branch to compare with${cfg.base_branch ? ` (${cfg.base_branch} not found)` : ''}: set dod.base_branch`;
    const limit = limiter(cfg.concurrency);
    this.exec = (argv, cwd, timeoutMs) =>
      limit(() =>
        runCommand(argv, { cwd, timeoutMs, maxOutputBytes: cfg.max_output_bytes, env: s.env, passEnv: cfg.pass_env, setEnv: { NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true' }, signal: s.signal }),
      );
  }

  /** Finds the tree, the base and the components the change touches. */
  static async open(s: RunSetup): Promise<DodRun> {
    const [tree, base] = await Promise.all([workingTreeHash(s.root), defaultBranch(s.root, s.config.dod.base_branch).then((b) => (b ? baseCommit(s.root, b).catch(() => null) : null))]);
    let selected = s.components;
    if (s.component !== undefined) selected = s.components.filter((c) => c.name === s.component);
    else if (s.components.length > 1 && base) {
      const changed = await changedFiles(s.root, base, tree);
      const touched = s.components.filter((c) => {
        const owns = componentPaths(c.paths);
        return changed.some((f) => owns.test(f));
      });
      if (touched.length) selected = touched;
    }
    return new DodRun(s, tree, base, selected);
  }

  private key(component: string, check: string, config: string) {
    return { tree: this.tree, config, base: this.base ?? '', component, check };
  }

  async cached(component: string, check: CheckId, config: string): Promise<CachedPass | null> {
    if (!this.s.useCache) return null;
    const hit = await this.store.dod.cached(this.key(component, check, config));
    // Only passes are cached (a skip by config costs nothing to decide again).
    return hit?.status === 'pass' ? { status: 'pass', detail: hit.detail, duration_ms: hit.duration_ms } : null;
  }

  keep(component: string, check: CheckId, config: string, r: CheckResult): void {
    this.kept.push({ key: { component, check, config }, r });
  }

  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.shared.get(key) as Promise<T> | undefined;
    if (!p) this.shared.set(key, (p = make()));
    return p;
  }

  /** Starts every wanted check, in the order of DOD_CHECKS (the build first: the test run waits for it). */
  start(): void {
    const { want } = this.s;
    const started = new Map<RepoCheck, Partial<Record<CheckId, Promise<CheckResult>>>>();
    for (const id of DOD_CHECKS) {
      if (!want.has(id)) continue;
      const check = OWNER.get(id) as DodCheck;
      if (check.per === 'component') {
        this.settle(
          id,
          Promise.all(this.selected.map((c) => this.part(c, id))).then((ps) => ({ id, ...combine(ps), duration_ms: Math.max(...ps.map((p) => p.duration_ms)), cached: ps.every((p) => p.cached) })),
        );
      } else {
        if (!started.has(check)) started.set(check, check.start(this, want));
        this.settle(id, started.get(check)?.[id] ?? Promise.resolve({ id, status: 'error', detail: `internal error: ${id} was not started by its check`, duration_ms: 0 }));
      }
    }
  }

  private settle(id: CheckId, p: Promise<CheckResult>): void {
    const total = this.s.want.size;
    const settled = p.then(async (r) => {
      this.done++;
      await Promise.resolve(this.s.progress?.(this.done, total, `${id}: ${r.status}`)).catch(() => undefined);
      return r;
    });
    // results() hands a failure on; until it is called (the mandatory items are read meanwhile) it is no unhandled rejection.
    void settled.catch(() => undefined);
    this.pending.set(id, settled);
  }

  /** Whether a component check must run now for `c`: a wanted id of it has no kept pass. */
  private async needed(check: ComponentCheck, c: Component): Promise<boolean> {
    for (const id of check.ids) if (this.s.want.has(id) && !(await this.cached(c.name, id, c.key))) return true;
    return false;
  }

  /** One check of one component, decided once per run; a check another one waits for is run afresh whenever that one runs. */
  private part(c: Component, id: CheckId): Promise<Part> {
    const k = `${c.name}\0${id}`;
    let p = this.parts.get(k);
    if (!p) {
      p = (async (): Promise<Part> => {
        let dependedOn = false;
        for (const m of COMPONENT_CHECKS) {
          if (m.after?.(c).includes(id) && (await this.needed(m, c))) {
            dependedOn = true;
            break;
          }
        }
        const hit = dependedOn ? null : await this.cached(c.name, id, c.key);
        if (hit) return { component: c.name, ...hit, cached: true };
        const d = await this.decide(OWNER.get(id) as ComponentCheck, c);
        const v = { ...(d.verdicts[id] as Verdict), duration_ms: d.duration_ms };
        if (v.status === 'pass') this.keep(c.name, id, c.key, { id, ...v });
        return { component: c.name, ...v, cached: false };
      })();
      this.parts.set(k, p);
    }
    return p;
  }

  /** A component check's verdicts for `c`: after the checks it waits for, not at all when one of them failed. */
  private decide(check: ComponentCheck, c: Component): Promise<Decision> {
    return this.once(`decide\0${c.name}\0${check.ids.join()}`, async () => {
      const before = await Promise.all((check.after?.(c) ?? []).map(async (d) => ({ id: d, ...(await this.part(c, d)) })));
      const t0 = Date.now();
      // A check without a command (its own error says so) has built nothing to wait for.
      const failed = before.filter((b) => (b.status === 'fail' || b.status === 'error') && c.commands[b.id as CommandCheck] !== undefined).map((b) => b.id);
      const all = (v: Verdict) => Object.fromEntries(check.ids.map((id) => [id, v]));
      let verdicts: Decision['verdicts'];
      if (failed.length) verdicts = all({ status: 'fail', detail: `not run: ${failed.join(' and ')} failed (${c.where}.after)` });
      else {
        try {
          verdicts = await check.judge(this, c);
        } catch (e) {
          verdicts = all(internalError(e));
        }
      }
      return { verdicts, duration_ms: Date.now() - t0 };
    });
  }

  /** The wanted checks' results in the order of DOD_CHECKS, reporting progress while long commands run. */
  async results(): Promise<CheckResult[]> {
    const { progress, want } = this.s;
    // Long runs keep reporting, so that a client resetting its timeout on progress waits for the commands.
    const pendingIds = new Set(this.pending.keys());
    for (const [id, p] of this.pending)
      void p.then(
        () => pendingIds.delete(id),
        () => pendingIds.delete(id), // the failure reaches the caller through Promise.all below
      );
    const ticker = progress ? setInterval(() => void Promise.resolve(progress(this.done, want.size, `running: ${[...pendingIds].join(', ')}`)).catch(() => undefined), PROGRESS_EVERY_MS) : null;
    try {
      return await Promise.all(DOD_CHECKS.filter((id) => want.has(id)).map((id) => this.pending.get(id) as Promise<CheckResult>));
    } finally {
      if (ticker) clearInterval(ticker);
    }
  }

  /**
   * The answer: binary over the ten (and the mandatory items), the run recorded with its phase and
   * the passes kept, and a full run published as the factory/dod status on the pull request.
   */
  async finish(checks: CheckResult[], mandatory: readonly { id: string; ok: boolean; detail: string }[], instance: string | null): Promise<CheckDodResult> {
    const { store, config, phase, pull, tree, base } = this;
    const { passed, score, skipped } = aggregate(
      checks,
      DOD_CHECKS.length,
      mandatory.every((m) => m.ok),
    );
    const treeChecks = checks.filter((c) => TREE_CHECKS.has(c.id as CheckId));
    const cached = treeChecks.length > 0 && treeChecks.every((c) => c.cached === true);
    const partial = this.s.want.size < DOD_CHECKS.length;
    const failing = checks.filter((c) => c.status === 'fail' || c.status === 'error').map((c) => c.id);
    const scope = `${phase ? ` for ${phase.mega}/${phase.id}` : ''} [${this.selected.map((c) => c.name).join(', ')}]`;
    const weakened = gateWeakenings(config).filter((w) => w.startsWith('dod.'));
    const message = `DoD ${score}${scope}${partial ? ' (partial: only some checks ran)' : ''}: ${passed ? (skipped ? `everything else passes (${skipped} skipped by config)` : 'all ten pass') : `not done${failing.length ? ` — ${failing.join(', ')}` : ''}${mandatory.some((m) => !m.ok) ? ' — mandatory items open' : ''}`}${cached ? ' (cached)' : ''}${weakened.length ? ` — config weakens gates: ${weakened.join('; ')}` : ''}`;

    if (!this.signal?.aborted) {
      await store.tx(async () => {
        const now = this.clock();
        for (const f of this.kept) await store.dod.putCache(this.key(f.key.component, f.key.check, f.key.config), f.r, now);
        const configured = this.selected.filter((c) => !c.detected).map((c) => c.name);
        await store.dod.record(now, { instance, mega: phase?.mega ?? null, phase: phase?.id ?? null, tree, base, passed, partial, score, cached, checks }, configured);
        if (phase && pull) await store.dod.putPull(phase.mega, phase.id, pull, now);
      });
      // A full run is a decision of the gate: published on the PR head (src/governance/statuses.ts), never awaited.
      if (!partial && pull) {
        const { state, description } = dodStatus({ passed, score, failing });
        const dod = { sha: pull.sha, state, description };
        void publishGates({ store, config, root: this.root, clock: this.clock, env: this.env }, phase ? { mega: phase.mega, phase: phase.id, sha: pull.sha, dod } : { dod });
      }
    }
    const detected = this.selected.find((c) => c.detected)?.detail;
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
}
