/**
 * state_updated and session_logged: the phase's evidence in the operations log since its claim — a
 * checkpoint and a memory or plan change; the owner's SESSION-START and operations for the phase.
 */
import { sessionVerdict, stateVerdict, type Verdict } from '../domain.js';
import { decidedNow, type RepoCheck, type Run } from './check.js';

const NO_PHASE: Verdict = { status: 'error', detail: 'no phase to judge: pass mega and phase, or hold exactly one claim' };

async function judge(run: Run, id: 'state_updated' | 'session_logged'): Promise<Verdict> {
  const { phase, store } = run;
  if (!phase) return NO_PHASE;
  const ps = await store.dod.phaseState(phase.mega, phase.id);
  const owner = ps?.owner ?? ps?.completed_by ?? null;
  if (!ps || ps.claimed_at === null) return { status: 'fail', detail: `${phase.mega}/${phase.id} was never claimed` };
  const ops = await store.dod.evidence(phase.mega, phase.id, owner, ps.claimed_at);
  return id === 'state_updated' ? stateVerdict(ops, phase.mega, phase.id, ps.claimed_at) : sessionVerdict(ops, owner, phase.mega, phase.id);
}

export const evidence: RepoCheck = {
  per: 'repository',
  ids: ['state_updated', 'session_logged'],
  tree: false,
  start: (run, want) =>
    decidedNow(want, evidence.ids, async (id) => {
      const t0 = Date.now();
      const v = await judge(run, id as 'state_updated' | 'session_logged');
      return { id, ...v, duration_ms: Date.now() - t0 };
    }),
};
