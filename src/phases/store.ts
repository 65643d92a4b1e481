import type { z } from 'zod';
import type { RunResult, Sql, Stmt } from '../core/sql.js';
import type { PhaseRefSchema } from '../../schemas/common.js';
import type { PlanMegaInput } from '../../schemas/phases.js';
import { phaseIdFromStore, phaseIdKind, phaseKey, type PhaseId } from '../core/ids.js';

/** A phase as the answers name it: mega, id with its type, name, points, tickets, deps. */
export type PhaseRef = z.output<typeof PhaseRefSchema>;

export interface MegaRow {
  key: string;
  title: string;
  source: string | null;
  created_at: number;
}

/** A MEGA's phases counted by status, with its story points: what the board's summary shows. */
export interface MegaCounts {
  total: number;
  done: number;
  claimed: number;
  ready: number;
  blocked: number;
  points_total: number;
  points_done: number;
}

export interface PhaseRow {
  mega: string;
  id: string;
  id_kind: string;
  ord: number;
  name: string;
  points: number | null;
  tickets: string;
  deps: string;
  owner: string | null;
  token: string | null;
  epoch: number;
  /** Dependencies not yet completed (0: ready once unclaimed). */
  unmet: number;
  claimed_at: number | null;
  lease_seconds: number | null;
  lease_expires_at: number | null;
  completed_at: number | null;
  completed_by: string | null;
  /** The most points the phase was ever planned with (the council gate reads it). */
  max_points: number | null;
}

/** A plan as plan_mega takes it: the MEGA and its phases in order. */
export type PlanInput = z.output<typeof PlanMegaInput>;

/** A new claim on a phase, as stored. */
export interface ClaimRow {
  owner: string;
  token: string;
  epoch: number;
  claimed_at: number;
  lease_seconds: number;
  lease_expires_at: number;
}

/**
 * The SQL of the phase tables (megas, phases, phase_deps): prepared statements and row mapping,
 * no rules. The rules (who may claim, fencing, chaining) are PhasesService's; call every write
 * inside its transaction. The claim path's methods hand back the statement's own promise (no async
 * frame of their own: issue 14's hot path).
 */
export class PhasesStore {
  private readonly q;

  constructor(private readonly sql: Sql) {
    // PostgreSQL: the claim-next read takes its row the claim-queue way, skipping rows another
    // transaction holds (write transactions also serialize on the log's head row, src/core/pg.ts).
    const claimLock = sql.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    this.q = {
      mega: sql.prepare<[string], MegaRow>('SELECT key, title, source, created_at FROM megas WHERE key = ?'),
      megas: sql.prepare<[], MegaRow>('SELECT key, title, source, created_at FROM megas ORDER BY created_at, key'),
      // Keyset pages (index megas_page, phases_page): a page costs its own rows, wherever it starts.
      megasAfter: sql.prepare<[number, string, number], MegaRow>('SELECT key, title, source, created_at FROM megas WHERE (created_at, key) > (?, ?) ORDER BY created_at, key LIMIT ?'),
      megaCount: sql.prepare<[], { n: number }>('SELECT count(*) AS n FROM megas'),
      counts: sql.prepare<[string], MegaCounts>(
        `SELECT count(*) AS total, count(completed_at) AS done, count(owner) AS claimed,
                coalesce(sum(CASE WHEN owner IS NULL AND completed_at IS NULL AND unmet = 0 THEN 1 ELSE 0 END), 0) AS ready,
                coalesce(sum(CASE WHEN owner IS NULL AND completed_at IS NULL AND unmet > 0 THEN 1 ELSE 0 END), 0) AS blocked,
                coalesce(sum(points), 0) AS points_total, coalesce(sum(CASE WHEN completed_at IS NOT NULL THEN points END), 0) AS points_done
         FROM phases WHERE mega = ?`,
      ),
      phasesAfter: sql.prepare<[string, number, number], PhaseRow>('SELECT * FROM phases WHERE mega = ? AND ord > ? ORDER BY ord LIMIT ?'),
      phase: sql.prepare<[string, string], PhaseRow>('SELECT * FROM phases WHERE mega = ? AND id = ?'),
      phasesOf: sql.prepare<[string], PhaseRow>('SELECT * FROM phases WHERE mega = ? ORDER BY ord'),
      unmet: sql.prepare<[string, string], { dep: string; id_kind: string }>(
        `SELECT d.dep, q.id_kind FROM phase_deps d JOIN phases q ON q.mega = d.mega AND q.id = d.dep
         WHERE d.mega = ? AND d.phase = ? AND q.completed_at IS NULL ORDER BY q.ord`,
      ),
      // `unmet` counts unfinished deps, so "ready" is one partial-index range scan.
      readyIn: sql.prepare<[string, number, number], PhaseRow>(
        'SELECT * FROM phases WHERE mega = ? AND owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY ord LIMIT ? OFFSET ?' + claimLock,
      ),
      // Across MEGAs in claim order (MEGAs as planned, then plan order) on one partial index: no MEGA list is read.
      readyAll: sql.prepare<[number, number], PhaseRow>('SELECT * FROM phases WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY mega_at, mega, ord LIMIT ? OFFSET ?' + claimLock),
      // The first ready phase, the common claim: a literal LIMIT 1 lets SQLite stop at the first index entry
      // (a bound LIMIT/OFFSET costs about three times as much per claim).
      firstIn: sql.prepare<[string], PhaseRow>('SELECT * FROM phases WHERE mega = ? AND owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY ord LIMIT 1' + claimLock),
      firstAll: sql.prepare<[], PhaseRow>('SELECT * FROM phases WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY mega_at, mega, ord LIMIT 1' + claimLock),
      remainingIn: sql.prepare<[string], { n: number }>('SELECT count(*) AS n FROM phases WHERE mega = ? AND completed_at IS NULL'),
      remainingAll: sql.prepare<[], { n: number }>('SELECT count(*) AS n FROM phases WHERE completed_at IS NULL'),
      owners: sql.prepare<[], { owner: string; n: number }>('SELECT owner, count(*) AS n FROM phases WHERE owner IS NOT NULL GROUP BY owner ORDER BY min(claimed_at) LIMIT 20'),
      ownersIn: sql.prepare<[string], { owner: string; n: number }>('SELECT owner, count(*) AS n FROM phases WHERE owner IS NOT NULL AND mega = ? GROUP BY owner ORDER BY min(claimed_at) LIMIT 20'),
      expired: sql.prepare<[number], PhaseRow>('SELECT * FROM phases WHERE owner IS NOT NULL AND lease_expires_at <= ?'),
      setClaim: sql.prepare(
        `UPDATE phases SET owner = ?, token = ?, epoch = ?, claimed_at = ?, lease_seconds = ?, lease_expires_at = ?
         WHERE mega = ? AND id = ? AND epoch = ?`,
      ),
      clearClaim: sql.prepare('UPDATE phases SET owner = NULL, token = NULL, lease_expires_at = NULL WHERE mega = ? AND id = ?'),
      setLease: sql.prepare('UPDATE phases SET lease_expires_at = ? WHERE mega = ? AND id = ?'),
      // A lease set within the last second is fresh (the refresh is throttled to once a second too): not rewritten.
      touchLeases: sql.prepare<[{ now: number; owner: string }]>(
        'UPDATE phases SET lease_expires_at = @now + lease_seconds * 1000 WHERE owner = @owner AND (lease_expires_at IS NULL OR lease_expires_at < @now + lease_seconds * 1000 - 1000)',
      ),
      complete: sql.prepare('UPDATE phases SET owner = NULL, lease_expires_at = NULL, completed_at = ?, completed_by = ? WHERE mega = ? AND id = ?'),
      unblock: sql.prepare<[{ mega: string; dep: string }]>('UPDATE phases SET unmet = unmet - 1 WHERE mega = @mega AND id IN (SELECT phase FROM phase_deps WHERE mega = @mega AND dep = @dep)'),
      recountUnmet: sql.prepare(
        `UPDATE phases SET unmet = (SELECT count(*) FROM phase_deps d JOIN phases q ON q.mega = d.mega AND q.id = d.dep
                                    WHERE d.mega = phases.mega AND d.phase = phases.id AND q.completed_at IS NULL)
         WHERE mega = ?`,
      ),
      insertMega: sql.prepare('INSERT INTO megas (key, title, source, created_at, updated_at) VALUES (?,?,?,?,?)'),
      updateMega: sql.prepare('UPDATE megas SET title = ?, source = ?, updated_at = ? WHERE key = ?'),
      upsertPhase: sql.prepare(
        // max_points: the most points the phase was ever planned with (the council gate reads it, so a
        // re-plan that lowers the points does not take a phase below the gate).
        // mega_at: the MEGA's created_at, the first key of the claim order (index phases_ready_any).
        `INSERT INTO phases (mega, id, id_kind, ord, name, points, tickets, deps, max_points, mega_at) VALUES (?,?,?,?,?,?,?,?,?,?)
         ON CONFLICT (mega, id) DO UPDATE SET id_kind = excluded.id_kind, ord = excluded.ord, name = excluded.name, mega_at = excluded.mega_at,
           points = excluded.points, tickets = excluded.tickets, deps = excluded.deps,
           max_points = ${sql.dialect === 'postgres' ? 'GREATEST' : 'max'}(coalesce(phases.max_points, phases.points, excluded.points, 0), coalesce(excluded.points, 0))`,
      ),
      deletePhase: sql.prepare('DELETE FROM phases WHERE mega = ? AND id = ?'),
      maxPoints: sql.prepare<[string, string], { max_points: number | null }>('SELECT max_points FROM phases WHERE mega = ? AND id = ?'),
      deleteDeps: sql.prepare('DELETE FROM phase_deps WHERE mega = ?'),
      insertDep: sql.prepare('INSERT INTO phase_deps (mega, phase, dep) VALUES (?,?,?)'),
      importCompletion: sql.prepare('UPDATE phases SET owner = NULL, token = NULL, lease_expires_at = NULL, claimed_at = ?, completed_at = ?, completed_by = ? WHERE mega = ? AND id = ?'),
    };
  }

  // ---------------------------------------------------------------- reads

  mega(key: string): Promise<MegaRow | undefined> {
    return this.q.mega.get(key);
  }

  /** Every MEGA, in the order they were planned. */
  async megas(): Promise<MegaRow[]> {
    return this.q.megas.all();
  }

  /** A phase by its stored key. */
  phase(mega: string, key: string): Promise<PhaseRow | undefined> {
    return this.q.phase.get(mega, key);
  }

  /** The phases of a MEGA in plan order. */
  async phasesOf(mega: string): Promise<PhaseRow[]> {
    return this.q.phasesOf.all(mega);
  }

  /** The unfinished dependencies of a phase, in plan order, with their id kinds. */
  unmetDeps(mega: string, key: string): Promise<{ dep: string; id_kind: string }[]> {
    return this.q.unmet.all(mega, key);
  }

  /** Up to `limit` MEGAs after `after` (their created_at and key; null: from the first) in the order they were planned. */
  async megasAfter(after: { at: number; key: string } | null, limit: number): Promise<MegaRow[]> {
    return this.q.megasAfter.all(after?.at ?? Number.MIN_SAFE_INTEGER, after?.key ?? '', limit);
  }

  async megaCount(): Promise<number> {
    return (await this.q.megaCount.get())?.n ?? 0;
  }

  /** A MEGA's phases counted by status, and its points (one range of its phases). */
  async counts(mega: string): Promise<MegaCounts> {
    return (await this.q.counts.get(mega)) as MegaCounts;
  }

  /** Up to `limit` phases of a MEGA after plan position `ord` (-1: from the first), in plan order. */
  async phasesAfter(mega: string, ord: number, limit: number): Promise<PhaseRow[]> {
    return this.q.phasesAfter.all(mega, ord, limit);
  }

  /**
   * Ready phases (unclaimed, not done, no unfinished dependency) in plan order, `limit` of them
   * from `offset` (limit -1: all); across MEGAs in MEGA order when `mega` is undefined, read from
   * one index whatever the number of MEGAs.
   */
  ready(mega: string | undefined, limit: number, offset: number): Promise<PhaseRow[]> {
    if (limit === 1 && offset === 0) return (mega !== undefined ? this.q.firstIn.get(mega) : this.q.firstAll.get()).then((first) => (first ? [first] : []));
    const n = limit < 0 ? Number.MAX_SAFE_INTEGER : limit; // LIMIT -1 means all on SQLite only
    return mega !== undefined ? this.q.readyIn.all(mega, n, offset) : this.q.readyAll.all(n, offset);
  }

  /** Phases not yet done, in a MEGA or in all. */
  remaining(mega: string | undefined): Promise<number> {
    return (mega !== undefined ? this.q.remainingIn.get(mega) : this.q.remainingAll.get()).then((r) => r?.n ?? 0);
  }

  /** Owners of open claims (in a MEGA, or all) with their claim counts, earliest claim first; at most 20. */
  async owners(mega: string | undefined): Promise<{ owner: string; n: number }[]> {
    return mega !== undefined ? this.q.ownersIn.all(mega) : this.q.owners.all();
  }

  /** Claims whose lease ended by `now`. */
  expired(now: number): Promise<PhaseRow[]> {
    return this.q.expired.all(now);
  }

  private claimsOfStmt: Stmt<[string], PhaseRow> | undefined;

  /** Open claims of one session, by MEGA and plan order. */
  async claimsOf(instance: string): Promise<PhaseRow[]> {
    this.claimsOfStmt ??= this.sql.prepare<[string], PhaseRow>('SELECT * FROM phases WHERE owner = ? ORDER BY mega, ord');
    return this.claimsOfStmt.all(instance);
  }

  /** The most points the phase was ever planned with. */
  async maxPoints(mega: string, key: string): Promise<number | null> {
    return (await this.q.maxPoints.get(mega, key))?.max_points ?? null;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Writes a plan: the MEGA row (created, or its title and source updated), its phases in order
   * (upserted), their dependency edges, minus the phases in `removed`; then recounts unmet deps.
   */
  async writePlan(plan: PlanInput, existing: MegaRow | undefined, removed: readonly string[], now: number): Promise<void> {
    if (existing) await this.q.updateMega.run(plan.title, plan.source ?? existing.source, now, plan.key);
    else await this.q.insertMega.run(plan.key, plan.title, plan.source ?? null, now, now);
    const megaAt = existing ? existing.created_at : now;
    await this.q.deleteDeps.run(plan.key);
    for (const id of removed) await this.q.deletePhase.run(plan.key, id);
    for (const [i, p] of plan.phases.entries()) {
      const deps = (p.deps ?? []).map(phaseKey);
      await this.q.upsertPhase.run(plan.key, phaseKey(p.id), phaseIdKind(p.id), i, p.name, p.points ?? null, JSON.stringify(p.tickets ?? []), JSON.stringify(p.deps ?? []), p.points ?? null, megaAt);
      for (const d of new Set(deps)) await this.q.insertDep.run(plan.key, phaseKey(p.id), d);
    }
    await this.q.recountUnmet.run(plan.key);
  }

  /**
   * A conditional update: it writes only over the claim it was decided on (the epoch before this one),
   * so a claim can never overwrite another that got in first, on any engine or server.
   */
  async setClaim(mega: string, key: string, c: ClaimRow): Promise<void> {
    const r = await this.q.setClaim.run(c.owner, c.token, c.epoch, c.claimed_at, c.lease_seconds, c.lease_expires_at, mega, key, c.epoch - 1);
    if (r.changes !== 1) throw new Error(`the claim of ${mega}/${key} lost a race: the phase changed after it was read (nothing was written)`);
  }

  /** The phase is unclaimed again (its token is gone). */
  clearClaim(mega: string, key: string): Promise<RunResult> {
    return this.q.clearClaim.run(mega, key);
  }

  setLease(mega: string, key: string, expires: number): Promise<RunResult> {
    return this.q.setLease.run(expires, mega, key);
  }

  /** Every lease `owner` holds runs its full length again from `now` (those set less than a second ago are left as they are). */
  touchLeases(owner: string, now: number): Promise<RunResult> {
    return this.q.touchLeases.run({ now, owner });
  }

  /** Marks a phase completed and counts it off its dependents' unmet deps. */
  async complete(mega: string, key: string, by: string, now: number): Promise<void> {
    await this.q.complete.run(now, by, mega, key);
    await this.q.unblock.run({ mega, dep: key });
  }

  /** An imported completion (who and when, from a claim file); the MEGA's dependents are recounted. */
  async writeImportedCompletion(mega: string, key: string, p: { by: string; claimed_at: number | null; completed_at: number }): Promise<void> {
    await this.q.importCompletion.run(p.claimed_at, p.completed_at, p.by, mega, key);
    await this.q.recountUnmet.run(mega); // dependents of an imported completion become ready
  }
}

/** A phase row as the reference answers carry (mega, id with its type, name, points, tickets, deps). */
export function toRef(r: PhaseRow): PhaseRef {
  return {
    mega: r.mega,
    id: phaseIdFromStore(r.id, r.id_kind),
    name: r.name,
    points: r.points,
    tickets: JSON.parse(r.tickets) as string[],
    deps: JSON.parse(r.deps) as PhaseId[],
  };
}
