/**
 * The contract between a DoD run (src/dod/run.ts) and its checks: what a check sees of the run,
 * and the two shapes a check takes. A check is one module under src/dod/checks/, listed once in
 * src/dod/checks/index.ts (docs/dod.md, "Adding a check").
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../../schemas/config.js';
import type { DOD_CHECKS } from '../../../schemas/dod.js';
import type { Store } from '../../core/store.js';
import type { RunResult } from '../../integrations/run.js';
import type { Component } from '../components.js';
import type { CheckResult, DodStatus, Verdict } from '../domain.js';

export type CheckId = (typeof DOD_CHECKS)[number];

/** A pass kept from an earlier run on the same tree, config and base. */
export interface CachedPass {
  status: DodStatus;
  detail: string;
  duration_ms: number;
}

/** The pull request of the branch, once the PR check found it: the run records it and publishes the gates on its head. */
export interface PullRef {
  number: number;
  sha: string;
  branch: string;
}

/** What a check sees of the run it is part of. */
export interface Run {
  readonly store: Store;
  readonly config: Config;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: () => number;
  /** The checkout checked (the repository or one of its worktrees). */
  readonly root: string;
  /** The working tree's hash, uncommitted and untracked files included. */
  readonly tree: string;
  /** The commit the change is measured against, null when there is no default branch. */
  readonly base: string | null;
  /** Why there is no base: the detail of a check that needs one. */
  readonly noBase: string;
  /** The phase judged, null when none was named and the caller holds no single claim. */
  readonly phase: { mega: string; id: string } | null;
  readonly signal: AbortSignal | undefined;
  /** Runs a command of the repository: limited to dod.concurrency at once, allow-listed environment, output capped. */
  exec(argv: string[], cwd: string, timeoutMs: number): Promise<RunResult>;
  /** The pass kept for this check on this tree, config and base; null when none or when the caller asked for a fresh run. */
  cached(component: string, check: CheckId, config: string): Promise<CachedPass | null>;
  /** Keeps a pass for the next runs (written with the run's record). */
  keep(component: string, check: CheckId, config: string, result: CheckResult): void;
  /** Work shared within one run (a baseline, a GitHub lookup): `make` runs once per key. */
  once<T>(key: string, make: () => Promise<T>): Promise<T>;
  /** Set by the PR check. */
  pull: PullRef | undefined;
}

/**
 * A check run per component with the component's commands (compiles, tests, lint…). The run keeps
 * its passes per component, combines the components' verdicts into one, and orders it after the
 * checks it waits for.
 */
export interface ComponentCheck {
  readonly per: 'component';
  /** The ids it decides: several when one piece of work decides them all (one test run: tests and no_regressions). */
  readonly ids: readonly CheckId[];
  /**
   * Checks of the same component whose success it waits for (the tests wait for the build: a
   * component's `after`). Those are run afresh whenever this one runs, never taken from the cache,
   * so this one never meets build output left by another tree.
   */
  after?(c: Component): readonly CheckId[];
  /** The verdict of each id for one component; a throw is an `error` verdict. */
  judge(run: Run, c: Component): Promise<Partial<Record<CheckId, Verdict>>>;
}

/** A check run once for the whole change (secrets, the pull request, the phase's log). */
export interface RepoCheck {
  readonly per: 'repository';
  readonly ids: readonly CheckId[];
  /** Judges the working tree: the answer's `cached` speaks of these checks (the others are asked afresh each time). */
  readonly tree: boolean;
  /** Starts the wanted ids (called once per run); one promise per id started. */
  start(run: Run, want: ReadonlySet<CheckId>): Partial<Record<CheckId, Promise<CheckResult>>>;
}

export type DodCheck = ComponentCheck | RepoCheck;

/** A short hash of the settings a verdict depends on: part of its cache key, so a changed setting runs it again. */
export const configKey = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

/** Results decided on the spot (no command, no network; at most the store): one promise per wanted id of `ids`. */
export function decidedNow(want: ReadonlySet<CheckId>, ids: readonly CheckId[], decide: (id: CheckId) => CheckResult | Promise<CheckResult>): Partial<Record<CheckId, Promise<CheckResult>>> {
  return Object.fromEntries(ids.filter((id) => want.has(id)).map((id) => [id, Promise.resolve(decide(id))]));
}
