/**
 * File reservations: the globs a claim reserves (claim_phase `files`, widened by checkpoint
 * `files`), refused or warned about when they overlap another owner's, and read by the pre-commit
 * guard and the board. The overlap decision is src/pipeline/overlap.ts (pure); the SQL is
 * src/pipeline/reservations-store.ts. docs/pipeline.md, "File reservations".
 */
import { InputError } from '../core/errors.js';
import { phaseIdFromStore, type PhaseId } from '../core/ids.js';
import { isStale } from '../phases/lease.js';
import type { SessionsStore } from '../sessions/store.js';
import { overlapBudget, overlaps, reservationProblem, reserves, type GlobOverlap } from './overlap.js';
import type { LiveReservationRow, ReservationsStore } from './reservations-store.js';

/** `phases.reservations`: refuse a claim that overlaps another owner's files, or only warn. */
export type ReservationMode = 'enforce' | 'warn';

/** Globs per call (claim_phase or checkpoint), per claim in all, and characters per glob. */
export const RESERVATION_LIMITS = { perCall: 50, perClaim: 200, length: 256 } as const;

/** Another owner's claim whose reserved globs overlap the caller's. */
export interface ReservationConflict {
  owner: string;
  agent: string | null;
  mega: string;
  phase: PhaseId;
  name: string;
  overlaps: GlobOverlap[];
}

/**
 * The caller's globs, checked (`field` names the argument in the error) and without repeats.
 * Throws InputError for an absolute path, a `..` segment, a malformed glob, too many or too long.
 */
export function checkReservationGlobs(field: string, globs: readonly string[]): string[] {
  if (globs.length > RESERVATION_LIMITS.perCall) throw new InputError(field, `at most ${RESERVATION_LIMITS.perCall} globs per call (got ${globs.length}); reserve a directory instead`);
  globs.forEach((g, i) => {
    if (g.length > RESERVATION_LIMITS.length) throw new InputError(`${field}[${i}]`, `at most ${RESERVATION_LIMITS.length} characters`);
    const problem = reservationProblem(g);
    if (problem) throw new InputError(`${field}[${i}]`, `${JSON.stringify(g)}: ${problem} (a glob relative to the repository root, e.g. "src/phases/**")`);
  });
  return [...new Set(globs)];
}

/** One line naming each conflicting owner (instance and agent), its phase and the overlapping globs. */
export function describeConflicts(conflicts: readonly ReservationConflict[]): string {
  return conflicts
    .map((c) => {
      const who = c.agent ? `${c.owner} (${c.agent})` : c.owner;
      const pairs = c.overlaps.map((o) => (o.mine === o.theirs ? JSON.stringify(o.mine) : `${JSON.stringify(o.mine)} ∩ ${JSON.stringify(o.theirs)}${o.example ? ` (e.g. ${o.example})` : ''}`));
      return `${c.mega}/${String(c.phase)} "${c.name}" held by ${who} reserves ${pairs.join(', ')}`;
    })
    .join('; ');
}

/**
 * What an overlap does under `mode`: enforce → refused (the first owner, the conflicts, a sentence
 * naming them); warn → allowed with the conflicts and a warning. No conflict: neither.
 */
export function overlapVerdict(
  conflicts: ReservationConflict[],
  mode: ReservationMode,
): { refused?: { owner: string; reserved_by: ReservationConflict[]; message: string }; warned?: { reserved_by: ReservationConflict[]; warnings: string[] } } {
  const first = conflicts[0];
  if (!first) return {};
  const what = describeConflicts(conflicts);
  if (mode === 'warn') return { warned: { reserved_by: conflicts, warnings: [`files overlap another claim (phases.reservations is "warn"): ${what}`] } };
  return { refused: { owner: first.owner, reserved_by: conflicts, message: `files you asked for are reserved: ${what}; reserve other files, or wait for that claim to end` } };
}

/** An open claim's reservation: its owner, phase and globs. */
export interface LiveClaim {
  owner: string;
  agent: string | null;
  mega: string;
  phase: PhaseId;
  key: string;
  name: string;
  globs: string[];
}

/** A path a live reservation covers, with the claim and the glob reserving it. */
export interface ReservationHolder {
  path: string;
  owner: string;
  agent: string | null;
  mega: string;
  phase: PhaseId;
  name: string;
  glob: string;
}

/** The rules over the stored reservations: who conflicts with whom, adding globs to a claim, who holds a path. */
export class Reservations {
  constructor(
    private readonly rows: ReservationsStore,
    private readonly sessions: SessionsStore,
  ) {}

  /**
   * Live reservations, grouped by claim: open claims whose owner is not gone past its lease
   * (an interrupted owner's reservation blocks until its lease ends, like its claim).
   */
  async live(now: number): Promise<LiveClaim[]> {
    const byClaim = new Map<string, LiveClaim>();
    const gone = new Map<string, boolean>();
    for (const r of await this.rows.live()) {
      if (await this.isGone(r, now, gone)) continue;
      const k = `${r.mega}\u0000${r.phase}`;
      const c = byClaim.get(k);
      if (c) c.globs.push(r.glob);
      else byClaim.set(k, { owner: r.owner, agent: r.agent, mega: r.mega, phase: phaseIdFromStore(r.phase, r.id_kind), key: r.phase, name: r.name, globs: [r.glob] });
    }
    return [...byClaim.values()];
  }

  private async isGone(r: LiveReservationRow, now: number, memo: Map<string, boolean>): Promise<boolean> {
    if (r.lease_expires_at === null || now < r.lease_expires_at) return false;
    let gone = memo.get(r.owner);
    if (gone === undefined) memo.set(r.owner, (gone = isStale(r.lease_expires_at, now, await this.sessions.liveness(r.owner))));
    return gone;
  }

  /** The claims of owners other than `instance` whose reservations overlap `globs`. */
  async conflicts(instance: string, globs: readonly string[], now: number): Promise<ReservationConflict[]> {
    if (globs.length === 0) return [];
    const out: ReservationConflict[] = [];
    const budget = overlapBudget(); // one bound on the work of the whole check: it runs in the write transaction
    for (const c of await this.live(now)) {
      if (c.owner === instance) continue;
      const found = overlaps(globs, c.globs, budget);
      if (found.length) out.push({ owner: c.owner, agent: c.agent, mega: c.mega, phase: c.phase, name: c.name, overlaps: found });
    }
    return out;
  }

  /** Adds globs to a claim's reservation; InputError (`field`) past the per-claim limit. Returns the claim's globs. */
  async add(field: string, mega: string, key: string, globs: readonly string[], now: number): Promise<string[]> {
    const held = await this.rows.ofPhase(mega, key);
    const fresh = globs.filter((g) => !held.includes(g));
    if (held.length + fresh.length > RESERVATION_LIMITS.perClaim) {
      throw new InputError(field, `a claim reserves at most ${RESERVATION_LIMITS.perClaim} globs (it holds ${held.length}); reserve directories instead of files`);
    }
    await this.rows.add(mega, key, fresh, now);
    return [...held, ...fresh];
  }

  /** A fresh claim of a phase starts with no reservation. */
  async reset(mega: string, key: string): Promise<void> {
    await this.rows.reset(mega, key);
  }

  /** The globs stored for a phase (the board asks for claimed phases only, whose globs are live). */
  async ofPhase(mega: string, key: string): Promise<string[]> {
    return this.rows.ofPhase(mega, key);
  }

  /**
   * The paths of `paths` that live reservations cover, with the claim reserving each; owners in
   * `mine` are skipped (the committing session's own claims).
   */
  async holders(paths: readonly string[], now: number, mine: ReadonlySet<string>): Promise<ReservationHolder[]> {
    const out: ReservationHolder[] = [];
    const claims = (await this.live(now)).filter((c) => !mine.has(c.owner));
    for (const path of paths) {
      for (const c of claims) {
        const glob = c.globs.find((g) => reserves(g, path));
        if (glob !== undefined) out.push({ path, owner: c.owner, agent: c.agent, mega: c.mega, phase: c.phase, name: c.name, glob });
      }
    }
    return out;
  }
}
