/**
 * check_dod: the Definition of Done for the tool, the CLI and the bench. The input is checked
 * before anything runs; the run (src/dod/run.ts) decides the checks (src/dod/checks/).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { DOD_CHECKS, type CheckDodInput, type CheckDodResult } from '../../schemas/dod.js';
import { actor, type ServiceContext } from '../core/context.js';
import { secs, type DodStatus } from './domain.js';
import { phaseKey } from '../core/ids.js';
import { InputError } from '../core/errors.js';
import { checkoutOf } from '../integrations/checkouts.js';
import { councilAdjustmentItems } from '../council/service.js';
import type { Store } from '../core/store.js';
import { components } from './components.js';
import type { CheckId } from './checks/check.js';
import { DodRun } from './run.js';

export type { CheckId } from './checks/check.js';
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

/** What the DoD reads: the one context; with a session, its single claim is the phase judged when none is named, and the run is recorded with its instance. */
export type DodContext = Pick<ServiceContext, 'store' | 'config' | 'root' | 'clock' | 'env' | 'session'>;

export interface DodOptions {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message: string) => void | Promise<void>;
  /** false: run everything afresh (the bench). */
  cache?: boolean;
}

/** The caller's single claim, when it holds exactly one: the phase to judge when none is named. */
async function heldPhase(ctx: DodContext): Promise<{ mega: string; id: string } | null> {
  if (!ctx.session) return null;
  const held = await ctx.store.phases.claimsOf(await ctx.session.ensureInstance());
  return held.length === 1 ? { mega: held[0]!.mega, id: held[0]!.id } : null;
}

async function resolveRoot(deps: DodContext, cwd: string | undefined): Promise<string> {
  if (cwd === undefined) {
    if (!fs.existsSync(path.join(deps.root, '.git'))) throw new InputError('cwd', `the server root ${deps.root} is not a git repository: pass the repository or worktree to check`);
    return deps.root;
  }
  return (await checkoutOf(deps.root, cwd)).top;
}

/**
 * Runs the Definition of Done: the ten checks, in parallel where independent, with the per-check
 * cache by working tree, config and base; stores the run with its phase. The tool and the CLI call this.
 */
export async function checkDod(deps: DodContext, input: Input, opts: DodOptions = {}): Promise<CheckDodResult> {
  const { store, config } = deps;
  // ---- input, checked before anything runs or is written
  if ((input.mega === undefined) !== (input.phase === undefined)) throw new InputError(input.mega === undefined ? 'mega' : 'phase', 'give mega and phase together');
  let phase: { mega: string; id: string } | null = null;
  if (input.mega !== undefined && input.phase !== undefined) {
    phase = { mega: input.mega, id: phaseKey(input.phase) };
    if (!(await store.dod.phaseState(phase.mega, phase.id))) throw new InputError('phase', `unknown phase ${JSON.stringify(input.phase)} in MEGA ${input.mega}`);
  } else phase = await heldPhase(deps);
  const root = await resolveRoot(deps, input.cwd);
  const all = components(config, root);
  if (input.component !== undefined && !all.some((c) => c.name === input.component)) {
    throw new InputError('component', `unknown component ${JSON.stringify(input.component)} (configured: ${all.map((c) => c.name).join(', ')})`);
  }
  (input.only ?? []).forEach((id, i) => {
    if (!(DOD_CHECKS as readonly string[]).includes(id)) throw new InputError(`only[${i}]`, `unknown check ${JSON.stringify(id)} (one of ${DOD_CHECKS.join(', ')})`);
  });

  const run = await DodRun.open({
    store,
    config,
    env: deps.env,
    clock: deps.clock,
    root,
    phase,
    components: all,
    component: input.component,
    want: new Set<CheckId>((input.only as CheckId[] | undefined) ?? DOD_CHECKS),
    useCache: opts.cache !== false && input.fresh !== true,
    signal: opts.signal,
    progress: opts.progress,
  });
  run.start();
  const mandatory: DodItem[] = [];
  if (phase) for (const provider of DOD_ITEM_PROVIDERS) mandatory.push(...(await provider({ store, mega: phase.mega, phase: phase.id })));
  return run.finish(await run.results(), mandatory, await actor(deps));
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
