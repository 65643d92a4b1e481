import type { Tx } from '../core/db.js';
import type { OperationsStore } from '../core/operations.js';
import type { PhasesService } from '../phases/service.js';
import type { ClaimFile } from '../../schemas/sessions.js';
import { InputError } from '../core/errors.js';
import { phaseKey, type PhaseId } from '../core/ids.js';

export interface ImportResult {
  mega: string;
  created: boolean;
  phases: number;
  completed: number;
  released: number;
  /** Phases the database already had claimed or completed: kept, not overwritten by the file. */
  kept: PhaseId[];
  message: string;
}

const MAX_STAMP = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Claim files in and out: the JSON format agents wrote by hand before factory-mcp. */
export class Importer {
  constructor(
    private readonly tx: Tx,
    private readonly s: { phases: PhasesService; operations: OperationsStore },
  ) {}

  /** Validates a claim file's times (InputError naming the field); call before anything is written. */
  check(file: ClaimFile): { claimed: number | null; completed: number | null }[] {
    // A time must print as a date: 1e300 parses as a number but new Date(1e300).toISOString() throws.
    const stamp = (i: number, k: 'claimed_at' | 'completed_at') => {
      const v = file.phases[i]?.[k];
      const ms = parseStamp(v);
      if (ms !== null && !(ms >= 0 && ms <= MAX_STAMP)) throw new InputError(`phases[${i}].${k}`, `not a date between 1970 and 9999: ${JSON.stringify(v)}`);
      return ms;
    };
    return file.phases.map((_, i) => ({ claimed: stamp(i, 'claimed_at'), completed: stamp(i, 'completed_at') }));
  }

  /**
   * Creates (or re-plans) the MEGA of a claim file, keeping its completions (who and when). Open
   * claims in the file are not kept as claims — their owners are gone — but logged as released
   * history. All or nothing in one transaction.
   */
  async importClaimFile(instance: string, file: ClaimFile, now: number): Promise<ImportResult> {
    const stamps = this.check(file);
    return this.tx(async () => {
      const plan = await this.s.phases.plan(
        instance,
        {
          key: file.mega,
          title: file.title ?? file.mega,
          source: file.source ?? 'imported claim file',
          phases: file.phases.map((p) => ({ id: p.id, name: p.name, points: p.points ?? undefined, tickets: p.tickets ?? [], deps: p.deps ?? [] })),
        },
        now,
      );
      let completed = 0;
      let released = 0;
      const kept: PhaseId[] = []; // claimed or completed in the database already: left as they are
      for (const [i, p] of file.phases.entries()) {
        const st = stamps[i] as { claimed: number | null; completed: number | null };
        if (st.completed !== null) {
          if ((await this.s.phases.recordCompletion(instance, file.mega, p.id, { by: p.owner ?? 'unknown', claimed_at: st.claimed, completed_at: st.completed }, now)) === 'recorded') completed++;
          else kept.push(p.id);
        } else if (p.owner) {
          await this.s.operations.append(now, {
            instance,
            kind: 'release',
            mega: file.mega,
            phase: phaseKey(p.id),
            message: `imported: open claim of ${file.mega}/${phaseKey(p.id)} by ${p.owner} released (its owner is not a live session)`,
            data: { reason: 'imported', previous_owner: p.owner, claimed_at: st.claimed },
          });
          released++;
        }
      }
      return {
        mega: file.mega,
        created: plan.created,
        phases: plan.phases,
        completed,
        released,
        kept,
        message: `imported ${file.mega}: ${plan.phases} phases, ${completed} completed, ${released} open claim(s) released${kept.length ? `; kept as the database has them (claimed or completed already): ${kept.join(', ')}` : ''}`,
      };
    });
  }
}

/** A claim-file time: ISO text, or a number (seconds before 1e11, milliseconds after). */
export function parseStamp(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v < 1e11 ? Math.round(v * 1000) : Math.round(v);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? NaN : ms;
}
