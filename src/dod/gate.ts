import type { Config } from '../../schemas/config.js';
import { phaseKey, type PhaseId } from '../domain/ids.js';
import type { Store } from '../store/index.js';

/**
 * With dod.require_for_complete, a phase completes only after a full check_dod run for it
 * passed: the last run is the one that counts, so a later failing run closes the gate again.
 */
export function dodGate(store: Store, config: Config, mega: string, phase: PhaseId): { completed: false; reason: 'dod_not_passed'; message: string } | null {
  if (!config.dod.require_for_complete) return null;
  const last = store.dod.last(mega, phaseKey(phase));
  if (last && last.passed && !last.partial) return null;
  const why = !last ? 'no check_dod run for it yet' : last.partial ? `its last check_dod ran only some checks (${last.score})` : `its last check_dod scored ${last.score}`;
  return { completed: false, reason: 'dod_not_passed', message: `${mega}/${phaseKey(phase)} cannot complete: ${why}; run check_dod until all ten pass (dod.require_for_complete)` };
}
