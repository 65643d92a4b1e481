import type { Octokit } from 'octokit';
import type { Config } from '../../schemas/config.js';
import { gateState } from '../council/domain.js';
import { clip } from '../core/text.js';
import { phaseKey } from '../core/ids.js';
import { unacknowledgedAsk } from '../dod/gate.js';
import { currentBranch } from '../dod/repo.js';
import type { Store } from '../core/store.js';
import { drainOutbox } from '../core/outbox.js';
import type { ServiceContext } from '../core/context.js';

/**
 * The gates as GitHub commit statuses on the pull request's head commit, so that branch
 * protection refuses a merge the gates refuse: `factory/dod`, `factory/change`, `factory/council`.
 * A decision queues its phase in the outbox (nothing is lost when GitHub is down) and a delivery
 * starts at once without the caller waiting for it; what fails is retried on the next decision
 * or by `factory-mcp statuses --retry`. The states are read from the store when delivered, so a
 * late delivery never posts an outdated gate.
 */

export const STATUS_KIND = 'github_status';
const LOCK_MS = 60_000;

export type GateState = 'success' | 'failure' | 'pending';
export interface GateStatus {
  context: 'factory/dod' | 'factory/change' | 'factory/council';
  state: GateState;
  description: string;
}

/** What waits in the outbox for one phase (or one phase-less DoD run). */
export interface StatusPayload {
  mega?: string;
  phase?: string;
  /** The PR head the phase's statuses go on, when the caller knows it (the DoD does). */
  sha?: string;
  /** Where to ask git for the branch when no PR is known for the phase yet. */
  cwd?: string;
  dod?: { sha: string; state: GateState; description: string };
}

/** What publishing the gates reads: the one context (a logger where failures are worth a warning). */
type StatusDeps = Pick<ServiceContext, 'store' | 'config' | 'root' | 'clock' | 'env'> & Partial<Pick<ServiceContext, 'logger'>>;

// ------------------------------------------------------------------ the gates' states

export function dodStatus(run: { passed: boolean; score: string; failing: readonly string[] }): GateStatus {
  return {
    context: 'factory/dod',
    state: run.passed ? 'success' : 'failure',
    description: clip(run.passed ? `DoD ${run.score}` : `DoD ${run.score}${run.failing.length ? `: ${run.failing.join(', ')}` : ''}`, 140),
  };
}

/** ship and show: success; ask (the latest Ask, whatever came after it): pending until a human acknowledges it; none yet: pending. */
export async function changeStatus(store: Store, mega: string, phase: string): Promise<GateStatus> {
  const c = await store.changes.latest(mega, phase);
  const s = (state: GateState, description: string): GateStatus => ({ context: 'factory/change', state, description });
  if (!c) return s('pending', 'not classified yet: classify_change with the phase token');
  // An Ask no human acknowledged stays pending whatever was classified after it (as complete_phase).
  const ask = await unacknowledgedAsk(store, mega, phase);
  if (ask) return s('pending', `ASK #${ask.id}: waiting for a human to acknowledge it`);
  if (c.level === 'ship') return s('success', 'SHIP: zero risk, merge now');
  if (c.level === 'show') return s('success', 'SHOW: merge, review afterwards');
  return s('success', `ASK #${c.id}: acknowledged by a human`); // the latest is an Ask, so the latest Ask: acknowledged
}

/** Phases above council.gate_points: success when the claim gate is open, pending when none decided; a standing reject is failure at any points. */
export async function councilStatus(store: Store, config: Config, mega: string, phase: string): Promise<GateStatus> {
  const s = (state: GateState, description: string): GateStatus => ({ context: 'factory/council', state, description: clip(description, 140) });
  const ref = (await store.phases.board(mega))[0]?.phases.find((p) => phaseKey(p.id) === phase);
  const gate = config.council.gate_points;
  const g = gateState(await store.councils.gateCouncils(mega, phase), { gate: config.council.gate_sources, supersede: config.council.supersede_sources });
  // A reject stands at any points, as in the claim gate: re-planning below the gate does not lift it.
  if (!g.open && g.why === 'rejected') return s('failure', `council #${g.reject.id}: REJECT`);
  const points = ref ? await store.phases.gatePoints(mega, phase, ref.points) : null; // the most it was ever planned with
  if (points === null || points <= gate) return s('success', `no council needed (${points ?? 0} points, gate above ${gate})`);
  if (g.open) return s('success', `council #${g.by.id}: ${g.by.verdict.toUpperCase()}${g.by.verdict === 'reject' ? ', overridden by a human' : ''}`);
  if (g.why === 'none') return s('pending', `${points} points: a council must decide first (run_council)`);
  return s('pending', `council #${g.council.id}: its reviews come from sources that may not open the gate`);
}

// ------------------------------------------------------------------ queue and deliver

const keyOf = (p: StatusPayload) => (p.mega !== undefined && p.phase !== undefined ? `${p.mega}/${p.phase}` : p.dod ? `sha:${p.dod.sha}` : null);

/**
 * Queues the gates of a phase (all phases of a MEGA with a known PR when `phase` is absent, as
 * for a MEGA-wide council) and starts delivering without blocking. Nothing is queued without a
 * token or with dod.github "off". Tools do not wait for the returned delivery (it never rejects);
 * a CLI about to exit does.
 */
export async function publishGates(deps: StatusDeps, what: StatusPayload): Promise<void> {
  if (deps.config.dod.github === 'off' || !deps.env.GITHUB_TOKEN) return;
  try {
    let items: StatusPayload[] = [what];
    if (what.mega !== undefined && what.phase === undefined && !what.dod) {
      items = [];
      for (const p of (await deps.store.phases.board(what.mega))[0]?.phases ?? []) {
        const id = phaseKey(p.id);
        if (await deps.store.dod.pull(what.mega, id)) items.push({ ...what, phase: id });
      }
    }
    for (const item of items) {
      const key = keyOf(item);
      if (!key) continue;
      const fresh = Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined)) as StatusPayload;
      // A newer decision replaces what still waits, but a waiting DoD verdict stays unless a newer one comes.
      await deps.store.outbox.put<StatusPayload>(STATUS_KIND, key, (old) => ({ ...(old?.dod ? { dod: old.dod } : {}), ...fresh }), deps.clock());
    }
  } catch (e) {
    deps.logger?.warn(`commit statuses not queued: ${(e as Error).message}`);
    return;
  }
  try {
    await retryStatuses(deps, { limit: 10 });
  } catch (e) {
    deps.logger?.warn(`commit status delivery failed: ${(e as Error).message}`);
  }
}

/** A human acknowledged an Ask change or a rejected council: its gate opens on GitHub too. */
export async function publishAck(deps: StatusDeps, kind: 'council' | 'change', ref: string): Promise<void> {
  const item = kind === 'change' ? await deps.store.changes.get(Number(ref)) : await deps.store.councils.get(Number(ref));
  if (!item?.mega) return;
  return publishGates(deps, { mega: item.mega, ...(item.phase !== null ? { phase: item.phase } : {}) });
}

export interface StatusRetryResult {
  posted: number;
  failed: { key: string; message: string }[];
  pending: number;
  message: string;
}

/** Delivers the queued statuses that are due (all with `force`). */
export async function retryStatuses(deps: StatusDeps, opts: { limit?: number; force?: boolean } = {}): Promise<StatusRetryResult> {
  const { store } = deps;
  const before = await store.outbox.pending(STATUS_KIND);
  if (before === 0) return { posted: 0, failed: [], pending: 0, message: 'no commit status waits for GitHub' };
  const { githubClient, resolveGithubRepo, NO_GITHUB_TOKEN, NO_GITHUB_REPO } = await import('../integrations/github.js');
  const octo = githubClient(deps.env);
  if (!octo) return { posted: 0, failed: [], pending: before, message: `${before} commit status update(s) wait for GitHub: ${NO_GITHUB_TOKEN}` };
  const slug = await resolveGithubRepo(deps.root, deps.config.github);
  // A decision queued while its phase was being delivered is delivered in a later round.
  const r = await drainOutbox<StatusPayload, number>(
    store.outbox,
    STATUS_KIND,
    deps.clock,
    { ...opts, lockMs: LOCK_MS },
    (item) => {
      if (!slug) throw new Error(NO_GITHUB_REPO);
      return deliver(deps, octo, slug, item.payload);
    },
    (e) => {
      const err = e as { status?: number; message?: string; response?: { headers?: Record<string, string> } };
      const retryAfter = Number(err.response?.headers?.['retry-after']);
      return { message: clip(`${err.status ? `GitHub ${err.status}: ` : ''}${err.message ?? String(e)}`, 300), retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null };
    },
  );
  const out: StatusRetryResult = { posted: r.delivered.reduce((n, d) => n + d.result, 0), failed: r.failed, pending: await store.outbox.pending(STATUS_KIND), message: '' };
  out.message = `posted ${out.posted} status(es), ${out.failed.length} update(s) failed, ${out.pending} still waiting`;
  return out;
}

/** Posts one queued item's statuses; the phase's gates are read now, on the PR head now. */
async function deliver(deps: StatusDeps, octo: Octokit, slug: { owner: string; repo: string }, p: StatusPayload): Promise<number> {
  const posts: { sha: string; status: GateStatus }[] = [];
  if (p.mega !== undefined && p.phase !== undefined) {
    let sha = p.sha;
    if (!sha) {
      const branch = (await deps.store.dod.pull(p.mega, p.phase))?.branch ?? (await currentBranch(p.cwd ?? deps.root));
      if (branch) {
        const pulls = await octo.rest.pulls.list({ ...slug, head: `${slug.owner}:${branch}`, state: 'open', per_page: 1 });
        sha = pulls.data[0]?.head.sha;
      }
    }
    // No open pull request for the phase: nothing to gate yet (the DoD's next run publishes again).
    if (sha) for (const status of [await changeStatus(deps.store, p.mega, p.phase), await councilStatus(deps.store, deps.config, p.mega, p.phase)]) posts.push({ sha, status });
  }
  if (p.dod) posts.push({ sha: p.dod.sha, status: { context: 'factory/dod', state: p.dod.state, description: p.dod.description } });
  for (const { sha, status } of posts) {
    await octo.rest.repos.createCommitStatus({ ...slug, sha, state: status.state, context: status.context, description: status.description });
  }
  return posts.length;
}
