import { randomUUID } from 'node:crypto';
import type { Db } from '../core/db.js';
import type { Statement } from 'better-sqlite3';
import { writeTx } from '../core/db.js';
import type { OperationsStore } from '../core/operations.js';
import type { SessionsStore } from '../sessions/store.js';
import type { Checkpoint } from '../sessions/checkpoints.js';
import { InputError } from '../core/errors.js';
import { describePlanProblem, findPlanProblem } from './dag.js';
import { phaseIdFromStore, phaseIdKind, phaseKey, type PhaseId } from '../core/ids.js';
import { isStale, leaseExpiry } from './lease.js';
import { resumeCommand } from '../sessions/domain.js';
import { iso } from '../core/time.js';

export interface PhaseInput {
  id: PhaseId;
  name: string;
  points?: number | undefined;
  tickets?: string[] | undefined;
  deps?: PhaseId[] | undefined;
}

export interface PlanInput {
  key: string;
  title: string;
  phases: PhaseInput[];
  source?: string | undefined;
}

export interface PhaseRef {
  mega: string;
  id: PhaseId;
  name: string;
  points: number | null;
  tickets: string[];
  deps: PhaseId[];
}

export type PhaseStatus = 'ready' | 'blocked' | 'claimed' | 'done';

export interface BoardPhase extends PhaseRef {
  status: PhaseStatus;
  /** The latest progress checkpoint of the phase, when the board was given a lookup. */
  checkpoint?: { percent: number | null; next: string[]; [field: string]: unknown } | null;
  owner: string | null;
  /** On a claim whose owner parked it at session_end or is gone: adoptable with `resume`. */
  owner_state?: 'parked' | 'interrupted';
  /** The call that adopts it, with owner_state. */
  resume?: string;
  claimed_at: string | null;
  lease_expires_at: string | null;
  completed_at: string | null;
  completed_by: string | null;
}

export interface BoardMega {
  key: string;
  title: string;
  source: string | null;
  total: number;
  done: number;
  claimed: number;
  ready: number;
  points_total: number;
  points_done: number;
  phases: BoardPhase[];
}

export type ClaimReason =
  | 'already_claimed'
  | 'already_completed'
  | 'deps_unmet'
  | 'council_required'
  | 'kill_switch'
  | 'cost_cap'
  | 'no_ready_phase'
  | 'parked'
  | 'interrupted';

export interface ClaimResult {
  claimed: boolean;
  phase?: PhaseRef;
  token?: string;
  lease_expires_at?: string;
  reason?: ClaimReason;
  owner?: string;
  unmet_deps?: PhaseId[];
  /** Phases not yet done in the scope asked about (a MEGA or all): 0 means there is nothing left. */
  remaining?: number;
  message: string;
}

export interface ClaimInput {
  mega?: string | undefined;
  phase?: PhaseId | undefined;
  lease_seconds?: number | undefined;
}

export interface TokenInput {
  mega: string;
  phase: PhaseId;
  token: string;
}

export type TokenRefusal = 'stale_token' | 'not_claimed' | 'not_owner';
export type CompleteRefusal = 'kill_switch' | 'dod_not_passed' | 'awaiting_human';

/**
 * Extra conditions on claiming, supplied by governance (kill switch, cost cap) and the council
 * gate. Each returns a refusal or null; they run inside the claim transaction.
 */
export interface ClaimGuards {
  /** Async preparation before the transaction (governance refreshes its GitHub kill-switch cache). */
  prepare?: () => Promise<void>;
  beforeClaim?: () => { reason: ClaimReason; message: string } | null;
  /** Refuses completions (the kill switch, DoD and Ask gates); reads and releases keep working. */
  beforeComplete?: () => { reason: CompleteRefusal; message: string } | null;
  phase?: (p: PhaseRef) => { reason: ClaimReason; message: string } | null;
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
  claimed_at: number | null;
  lease_seconds: number | null;
  lease_expires_at: number | null;
  completed_at: number | null;
  completed_by: string | null;
}


export const MAX_NAME = 200;

/** The phase-ownership store. Every write is one BEGIN IMMEDIATE transaction; no state lives in memory. */
export class PhasesStore {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly ops: OperationsStore,
    private readonly sessions: SessionsStore,
    private readonly defaultLeaseSeconds: number,
    /** Latest checkpoint per phase key of a MEGA, shown on the board (set by the Store). */
    private readonly checkpointsOf?: (mega: string) => Map<string, Checkpoint>,
  ) {
    this.q = {
      mega: db.prepare<[string], { key: string; title: string; source: string | null }>('SELECT key, title, source FROM megas WHERE key = ?'),
      megas: db.prepare<[], { key: string; title: string; source: string | null }>('SELECT key, title, source FROM megas ORDER BY created_at, key'),
      phase: db.prepare<[string, string], PhaseRow>('SELECT * FROM phases WHERE mega = ? AND id = ?'),
      phasesOf: db.prepare<[string], PhaseRow>('SELECT * FROM phases WHERE mega = ? ORDER BY ord'),
      unmet: db.prepare<[string, string], { dep: string; id_kind: string }>(
        `SELECT d.dep, q.id_kind FROM phase_deps d JOIN phases q ON q.mega = d.mega AND q.id = d.dep
         WHERE d.mega = ? AND d.phase = ? AND q.completed_at IS NULL ORDER BY q.ord`,
      ),
      // `unmet` counts unfinished deps, so "ready" is one partial-index range scan.
      readyIn: db.prepare<[string, number, number], PhaseRow>(
        'SELECT * FROM phases WHERE mega = ? AND owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY ord LIMIT ? OFFSET ?',
      ),
      remainingIn: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM phases WHERE mega = ? AND completed_at IS NULL'),
      remainingAll: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM phases WHERE completed_at IS NULL'),
      owners: db.prepare<[], { owner: string; n: number }>('SELECT owner, count(*) AS n FROM phases WHERE owner IS NOT NULL GROUP BY owner ORDER BY min(claimed_at) LIMIT 20'),
      ownersIn: db.prepare<[string], { owner: string; n: number }>('SELECT owner, count(*) AS n FROM phases WHERE owner IS NOT NULL AND mega = ? GROUP BY owner ORDER BY min(claimed_at) LIMIT 20'),
      expired: db.prepare<[number], PhaseRow>('SELECT * FROM phases WHERE owner IS NOT NULL AND lease_expires_at <= ?'),
      setClaim: db.prepare(
        `UPDATE phases SET owner = ?, token = ?, epoch = ?, claimed_at = ?, lease_seconds = ?, lease_expires_at = ?
         WHERE mega = ? AND id = ?`,
      ),
      clearClaim: db.prepare('UPDATE phases SET owner = NULL, token = NULL, lease_expires_at = NULL WHERE mega = ? AND id = ?'),
      setLease: db.prepare('UPDATE phases SET lease_expires_at = ? WHERE mega = ? AND id = ?'),
      touchLeases: db.prepare('UPDATE phases SET lease_expires_at = ? + lease_seconds * 1000 WHERE owner = ?'),
      complete: db.prepare('UPDATE phases SET owner = NULL, lease_expires_at = NULL, completed_at = ?, completed_by = ? WHERE mega = ? AND id = ?'),
      unblock: db.prepare<[{ mega: string; dep: string }]>('UPDATE phases SET unmet = unmet - 1 WHERE mega = @mega AND id IN (SELECT phase FROM phase_deps WHERE mega = @mega AND dep = @dep)'),
      recountUnmet: db.prepare(
        `UPDATE phases SET unmet = (SELECT count(*) FROM phase_deps d JOIN phases q ON q.mega = d.mega AND q.id = d.dep
                                    WHERE d.mega = phases.mega AND d.phase = phases.id AND q.completed_at IS NULL)
         WHERE mega = ?`,
      ),
      insertMega: db.prepare('INSERT INTO megas (key, title, source, created_at, updated_at) VALUES (?,?,?,?,?)'),
      updateMega: db.prepare('UPDATE megas SET title = ?, source = ?, updated_at = ? WHERE key = ?'),
      upsertPhase: db.prepare(
        // max_points: the most points the phase was ever planned with (the council gate reads it, so a
        // re-plan that lowers the points does not take a phase below the gate).
        `INSERT INTO phases (mega, id, id_kind, ord, name, points, tickets, deps, max_points) VALUES (?,?,?,?,?,?,?,?,?)
         ON CONFLICT (mega, id) DO UPDATE SET id_kind = excluded.id_kind, ord = excluded.ord, name = excluded.name,
           points = excluded.points, tickets = excluded.tickets, deps = excluded.deps,
           max_points = max(coalesce(phases.max_points, phases.points, excluded.points, 0), coalesce(excluded.points, 0))`,
      ),
      deletePhase: db.prepare('DELETE FROM phases WHERE mega = ? AND id = ?'),
      maxPoints: db.prepare<[string, string], { max_points: number | null }>('SELECT max_points FROM phases WHERE mega = ? AND id = ?'),
      deleteDeps: db.prepare('DELETE FROM phase_deps WHERE mega = ?'),
      insertDep: db.prepare('INSERT INTO phase_deps (mega, phase, dep) VALUES (?,?,?)'),
    };
  }

  /**
   * The points the council gate reads: the most the phase was ever planned with, so a re-plan that
   * lowers (or drops) its points does not take it below council.gate_points.
   */
  gatePoints(mega: string, id: string, points: number | null): number | null {
    const most = this.q.maxPoints.get(mega, id)?.max_points ?? null;
    return most !== null && (points === null || most > points) ? most : points;
  }

  // ---------------------------------------------------------------- planning

  plan(instance: string, input: PlanInput, now: number): { mega: string; phases: number; created: boolean; removed: PhaseId[]; ready: PhaseId[] } {
    const problem = findPlanProblem(input.phases.map((p) => ({ id: p.id, deps: p.deps ?? [] })));
    if (problem) throw new InputError(problem.field, describePlanProblem(problem));
    return writeTx(this.db, () => {
      const existing = this.q.mega.get(input.key);
      const before = existing ? this.q.phasesOf.all(input.key) : [];
      const keep = new Set(input.phases.map((p) => phaseKey(p.id)));
      const removed = before.filter((r) => !keep.has(r.id));
      for (const r of removed) {
        if (r.owner !== null || r.completed_at !== null) {
          const what = r.owner !== null ? `is claimed by ${r.owner}` : `was completed by ${r.completed_by ?? 'someone'}`;
          throw new InputError('phases', `phase ${JSON.stringify(phaseIdFromStore(r.id, r.id_kind))} ${what}; a re-plan must keep it (release it first to drop it)`);
        }
      }
      if (existing) this.q.updateMega.run(input.title, input.source ?? existing.source, now, input.key);
      else this.q.insertMega.run(input.key, input.title, input.source ?? null, now, now);
      this.q.deleteDeps.run(input.key);
      for (const r of removed) this.q.deletePhase.run(input.key, r.id);
      for (const [i, p] of input.phases.entries()) {
        const deps = (p.deps ?? []).map(phaseKey);
        this.q.upsertPhase.run(input.key, phaseKey(p.id), phaseIdKind(p.id), i, p.name, p.points ?? null, JSON.stringify(p.tickets ?? []), JSON.stringify(p.deps ?? []), p.points ?? null);
        for (const d of new Set(deps)) this.q.insertDep.run(input.key, phaseKey(p.id), d);
      }
      this.q.recountUnmet.run(input.key);
      this.ops.append(now, {
        instance,
        kind: existing ? 'replan' : 'plan',
        mega: input.key,
        message: `${existing ? 're-planned' : 'planned'} ${input.key} "${input.title}" with ${input.phases.length} phases${removed.length ? `, dropped ${removed.length}` : ''}`,
        data: { phases: input.phases.length, removed: removed.map((r) => r.id) },
      });
      return {
        mega: input.key,
        phases: input.phases.length,
        created: !existing,
        removed: removed.map((r) => phaseIdFromStore(r.id, r.id_kind)),
        ready: this.q.readyIn.all(input.key, -1, 0).map((r) => phaseIdFromStore(r.id, r.id_kind)),
      };
    });
  }

  // ---------------------------------------------------------------- claims

  /** Refreshes every lease a session holds ("any tool call refreshes its leases"). */
  touch(instance: string, now: number): void {
    writeTx(this.db, () => {
      this.q.touchLeases.run(now, instance);
      this.sessions.markSeen(instance, now);
    });
  }

  claim(instance: string, input: ClaimInput, now: number, guards: ClaimGuards = {}): ClaimResult {
    if (input.phase !== undefined && input.mega === undefined) {
      throw new InputError('mega', 'required when phase is given (a phase id is unique only within its MEGA)');
    }
    const leaseSeconds = input.lease_seconds ?? this.defaultLeaseSeconds;
    return writeTx(this.db, () => {
      if (input.mega !== undefined) this.requireMega(input.mega);
      const row = input.phase !== undefined ? this.requirePhase(input.mega as string, input.phase) : null;
      this.releaseStale(instance, now);
      const blocked = guards.beforeClaim?.();
      if (blocked) return { claimed: false, ...blocked, remaining: this.remaining(input.mega) };
      if (row) return this.claimNamed(instance, this.requirePhase(row.mega, row.id), leaseSeconds, now, guards);
      return this.claimNext(instance, input.mega, leaseSeconds, now, guards);
    });
  }

  private claimNamed(instance: string, row: PhaseRow, leaseSeconds: number, now: number, guards: ClaimGuards): ClaimResult {
    const ref = toRef(row);
    const label = `${row.mega}/${row.id}`;
    if (row.completed_at !== null) {
      return { claimed: false, reason: 'already_completed', phase: ref, owner: row.completed_by ?? undefined, message: `${label} was already completed by ${row.completed_by} at ${iso(row.completed_at)}` };
    }
    if (row.owner === instance && row.token) {
      // A retry by the owner (its answer was lost): hand back the same claim, lease refreshed.
      const expires = leaseExpiry(now, leaseSeconds);
      this.q.setLease.run(expires, row.mega, row.id);
      return { claimed: true, phase: ref, token: row.token, lease_expires_at: iso(expires) as string, owner: instance, message: `you already hold ${label}; lease refreshed` };
    }
    if (row.owner !== null) {
      const state = this.sessions.ownerState(row.owner);
      if (state !== 'live') {
        const how = state === 'parked' ? 'parked it at session_end' : 'was interrupted (gone without session_end)';
        return { claimed: false, reason: state, phase: ref, owner: row.owner, message: `${label} is held by ${row.owner}, which ${how}; ${resumeCommand(row.owner)} adopts its claims with fresh tokens` };
      }
      return { claimed: false, reason: 'already_claimed', phase: ref, owner: row.owner, message: `${label} is claimed by ${row.owner} until at least ${iso(row.lease_expires_at)}; pick another phase` };
    }
    const unmet = this.q.unmet.all(row.mega, row.id);
    if (unmet.length > 0) {
      const ids = unmet.map((u) => phaseIdFromStore(u.dep, u.id_kind));
      return { claimed: false, reason: 'deps_unmet', phase: ref, unmet_deps: ids, message: `${label} waits on unfinished phases ${ids.map((i) => JSON.stringify(i)).join(', ')}` };
    }
    const refused = guards.phase?.(ref);
    if (refused) return { claimed: false, phase: ref, ...refused };
    return this.take(instance, row, leaseSeconds, now);
  }

  private claimNext(instance: string, mega: string | undefined, leaseSeconds: number, now: number, guards: ClaimGuards): ClaimResult {
    // Ready phases in plan order, a page at a time (guards may refuse some, e.g. the council gate).
    // The first page is one row: in the common case (no guard refuses) that is all it takes.
    let refusal: { reason: ClaimReason; message: string; phase: PhaseRef } | null = null;
    for (let offset = 0, page = 1; ; offset += page, page = 32) {
      const rows = mega !== undefined ? this.q.readyIn.all(mega, page, offset) : this.readyAny(page, offset);
      for (const row of rows) {
        const refused = guards.phase?.(toRef(row));
        if (!refused) return this.take(instance, row, leaseSeconds, now);
        refusal ??= { ...refused, phase: toRef(row) };
      }
      if (rows.length < page) break;
    }
    const remaining = this.remaining(mega);
    if (refusal) return { claimed: false, ...refusal, remaining };
    const scope = mega ?? 'any MEGA';
    if (remaining === 0) return { claimed: false, reason: 'no_ready_phase', remaining, message: `every phase of ${scope} is done; nothing left to claim` };
    // Work held by owners that will not come back on their own: say who, and how to adopt it.
    const stuck = this.adoptableOwners(mega);
    if (stuck.length) {
      const list = stuck.map((o) => `${o.owner} (${o.state}, ${o.phases} phase${o.phases === 1 ? '' : 's'})`).join(', ');
      const first = stuck[0] as (typeof stuck)[number];
      const resume = stuck.length === 1 ? resumeCommand(first.owner) : `${resumeCommand(first.owner)} (or {"resume":true} for all)`;
      return { claimed: false, reason: 'no_ready_phase', owner: first.owner, remaining, message: `no phase of ${scope} is ready: ${remaining} not done; claims are held by sessions that parked them or are gone: ${list}; ${resume} adopts them` };
    }
    return { claimed: false, reason: 'no_ready_phase', remaining, message: `no phase of ${scope} is ready: ${remaining} not done, all claimed or waiting on dependencies; try again later` };
  }

  /** Owners of open claims (in a MEGA, or all) that parked them or are gone, with their claim counts; at most 20 owners looked at. */
  private adoptableOwners(mega: string | undefined): { owner: string; state: 'parked' | 'interrupted'; phases: number }[] {
    const owners = mega !== undefined ? this.q.ownersIn.all(mega) : this.q.owners.all();
    const out: { owner: string; state: 'parked' | 'interrupted'; phases: number }[] = [];
    for (const o of owners) {
      const state = this.sessions.ownerState(o.owner);
      if (state !== 'live') out.push({ owner: o.owner, state, phases: o.n });
    }
    return out;
  }

  /** Ready phases across MEGAs in MEGA order (MEGAs are few; each lookup is an index range). */
  private readyAny(limit: number, offset: number): PhaseRow[] {
    const out: PhaseRow[] = [];
    let skip = offset;
    for (const m of this.q.megas.all()) {
      const rows = this.q.readyIn.all(m.key, limit - out.length + skip, 0);
      const take = rows.slice(skip);
      skip = Math.max(0, skip - rows.length);
      out.push(...take);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** A fresh claim: the epoch moves on and a new token is issued, so every older token is refused. */
  private take(instance: string, row: PhaseRow, leaseSeconds: number, now: number, adoptedFrom?: string): ClaimResult {
    const epoch = row.epoch + 1;
    const token = `fx${epoch}-${randomUUID().slice(0, 18)}`; // epoch first: tokens of one phase only grow
    const expires = leaseExpiry(now, leaseSeconds);
    this.q.setClaim.run(instance, token, epoch, now, leaseSeconds, expires, row.mega, row.id);
    const message = adoptedFrom
      ? `${instance} adopted ${row.mega}/${row.id} "${row.name}" from session ${adoptedFrom}`
      : `${instance} claimed ${row.mega}/${row.id} "${row.name}"`;
    this.ops.append(now, { instance, kind: 'claim', mega: row.mega, phase: row.id, message, data: { epoch, lease_seconds: leaseSeconds, ...(adoptedFrom ? { adopted_from: adoptedFrom } : {}) } });
    return { claimed: true, phase: toRef(row), token, lease_expires_at: iso(expires) as string, owner: instance, message: `claimed ${row.mega}/${row.id} "${row.name}"; heartbeat before ${iso(expires)} or call any tool` };
  }

  /**
   * Hands every claim of an interrupted session to `instance` with fresh tokens (resume). Runs in
   * the caller's transaction when there is one.
   */
  adopt(instance: string, from: string, now: number): ClaimResult[] {
    return writeTx(this.db, () =>
      this.claimsOf(from).map((row) => this.take(instance, row, row.lease_seconds ?? this.defaultLeaseSeconds, now, from)),
    );
  }

  /** Stored key and id kind of a phase (InputError when unknown). */
  phaseKeyOf(mega: string, id: PhaseId): { key: string; kind: string } {
    const row = this.requirePhase(mega, id);
    return { key: row.id, kind: row.id_kind };
  }

  /** Import: marks a phase done as the claim file says (who and when), logged as an imported completion. */
  recordCompletion(instance: string, mega: string, id: PhaseId, p: { by: string; claimed_at: number | null; completed_at: number }, now: number): 'recorded' | 'kept' {
    return writeTx(this.db, () => {
      const row = this.requirePhase(mega, id);
      // The database wins over a claim file: a live claim or a recorded completion is kept as it is.
      if (row.owner !== null || row.completed_at !== null) return 'kept';
      this.db.prepare('UPDATE phases SET owner = NULL, token = NULL, lease_expires_at = NULL, claimed_at = ?, completed_at = ?, completed_by = ? WHERE mega = ? AND id = ?').run(p.claimed_at, p.completed_at, p.by, mega, row.id);
      this.q.recountUnmet.run(mega); // dependents of an imported completion become ready
      this.ops.append(now, { instance, kind: 'complete', mega, phase: row.id, message: `imported: ${p.by} completed ${mega}/${row.id} "${row.name}" at ${iso(p.completed_at)}`, data: { imported: true, by: p.by, claimed_at: p.claimed_at, completed_at: p.completed_at } });
      return 'recorded';
    });
  }

  /** Releases every claim whose lease passed and whose owner is not alive, recording each release. */
  private releaseStale(instance: string, now: number): void {
    for (const r of this.q.expired.all(now)) {
      if (r.owner === instance || r.lease_expires_at === null) continue;
      const liveness = this.sessions.liveness(r.owner as string);
      if (!isStale(r.lease_expires_at, now, liveness)) continue;
      this.q.clearClaim.run(r.mega, r.id);
      this.ops.append(now, {
        instance,
        kind: 'release',
        mega: r.mega,
        phase: r.id,
        message: `released stale claim of ${r.mega}/${r.id} held by ${r.owner} (lease ended ${iso(r.lease_expires_at)}, owner ${liveness})`,
        data: { reason: 'stale', previous_owner: r.owner, lease_expires_at: r.lease_expires_at, owner_liveness: liveness },
      });
    }
  }

  heartbeat(instance: string, input: TokenInput, now: number): { ok: boolean; lease_expires_at?: string; reason?: TokenRefusal; owner?: string; message: string } {
    return writeTx(this.db, () => {
      const row = this.requirePhase(input.mega, input.phase);
      const refused = this.checkToken(row, input.token, instance);
      if (refused) return { ok: false, ...refused };
      const expires = leaseExpiry(now, row.lease_seconds ?? this.defaultLeaseSeconds);
      this.q.setLease.run(expires, row.mega, row.id);
      this.sessions.markSeen(instance, now);
      return { ok: true, lease_expires_at: iso(expires) as string, message: `lease on ${row.mega}/${row.id} extended to ${iso(expires)}` };
    });
  }

  complete(
    instance: string,
    input: TokenInput & { chain?: boolean | undefined; lease_seconds?: number | undefined },
    now: number,
    guards: ClaimGuards = {},
  ): { completed: boolean; phase?: PhaseRef; reason?: TokenRefusal | CompleteRefusal; owner?: string; next?: ClaimResult; message: string } {
    return writeTx(this.db, () => {
      const row = this.requirePhase(input.mega, input.phase);
      const label = `${row.mega}/${row.id}`;
      if (row.completed_at !== null && row.token === input.token && row.completed_by === instance) {
        // A retry (the first answer was lost). Its chained claim, if it made one, is still held:
        // hand that back rather than claiming a second phase the caller would never hear of.
        const r = { completed: true, phase: toRef(row), message: `${label} was already completed (by this token)` };
        if (!input.chain) return r;
        const held = this.claimsOf(instance).filter((c) => c.claimed_at !== null && c.claimed_at >= (row.completed_at as number));
        const mine = held.find((c) => c.mega === row.mega) ?? held[0];
        if (mine) {
          const expires = iso(mine.lease_expires_at) as string;
          return { ...r, next: { claimed: true, phase: toRef(mine), token: mine.token as string, lease_expires_at: expires, owner: instance, message: `you already hold ${mine.mega}/${mine.id}, chained when ${label} was completed` } };
        }
        return { ...r, next: this.chainNext(instance, row.mega, input.lease_seconds, now, guards) };
      }
      const refused = this.checkToken(row, input.token, instance);
      if (refused) return { completed: false, phase: toRef(row), ...refused };
      const stopped = guards.beforeComplete?.();
      if (stopped) return { completed: false, phase: toRef(row), ...stopped };
      this.finish(instance, row, now);
      this.ops.append(now, { instance, kind: 'complete', mega: row.mega, phase: row.id, message: `${instance} completed ${label} "${row.name}"`, data: { claimed_at: row.claimed_at, took_ms: row.claimed_at === null ? null : now - row.claimed_at } });
      const done = { completed: true, phase: toRef(row), message: `completed ${label}` };
      return input.chain ? { ...done, next: this.chainNext(instance, row.mega, input.lease_seconds, now, guards) } : done;
    });
  }

  /** Marks a phase completed and counts it off its dependents' unmet deps. */
  private finish(instance: string, row: PhaseRow, now: number): void {
    this.q.complete.run(now, instance, row.mega, row.id);
    this.q.unblock.run({ mega: row.mega, dep: row.id });
  }

  /** Phase chaining: the next ready phase of the same MEGA, else of any MEGA. */
  private chainNext(instance: string, mega: string, leaseSeconds: number | undefined, now: number, guards: ClaimGuards): ClaimResult {
    this.releaseStale(instance, now);
    const blocked = guards.beforeClaim?.();
    if (blocked) return { claimed: false, ...blocked, remaining: this.remaining(undefined) };
    const lease = leaseSeconds ?? this.defaultLeaseSeconds;
    const same = this.claimNext(instance, mega, lease, now, guards);
    if (same.claimed || (same.remaining ?? 0) > 0) return same;
    return this.claimNext(instance, undefined, lease, now, guards);
  }

  /**
   * Marks phases done because the tracker says so (sync_plan). Claimed phases are left to their
   * owner and returned in `skipped`; already completed ones are unchanged.
   */
  markDone(instance: string, mega: string, ids: readonly PhaseId[], now: number, source: string): { marked: PhaseId[]; skipped: PhaseId[] } {
    return writeTx(this.db, () => {
      const marked: PhaseId[] = [];
      const skipped: PhaseId[] = [];
      for (const id of ids) {
        const row = this.requirePhase(mega, id);
        if (row.completed_at !== null) continue;
        if (row.owner !== null) {
          skipped.push(id);
          continue;
        }
        this.finish(instance, row, now);
        this.ops.append(now, { instance, kind: 'complete', mega: row.mega, phase: row.id, message: `${row.mega}/${row.id} "${row.name}" is done in ${source}`, data: { source } });
        marked.push(id);
      }
      return { marked, skipped };
    });
  }

  release(instance: string, input: TokenInput & { reason: string }, now: number): { released: boolean; reason?: TokenRefusal; owner?: string; message: string } {
    return writeTx(this.db, () => {
      const row = this.requirePhase(input.mega, input.phase);
      const refused = this.checkToken(row, input.token, instance);
      if (refused) return { released: false, ...refused };
      this.q.clearClaim.run(row.mega, row.id);
      this.ops.append(now, { instance, kind: 'release', mega: row.mega, phase: row.id, message: `${instance} released ${row.mega}/${row.id}: ${input.reason}`, data: { reason: input.reason } });
      return { released: true, message: `released ${row.mega}/${row.id}; it is claimable again` };
    });
  }

  /**
   * Whether `token` is `instance`'s current claim on the phase, for writes other stores make on a
   * held phase; with its stored key and id kind when it is. Call inside a write transaction.
   * Unknown MEGA or phase: InputError.
   */
  verifyToken(input: TokenInput, instance: string): { ok: true; phase: PhaseRef; key: string; kind: string } | { ok: false; reason: TokenRefusal; owner?: string; message: string } {
    const row = this.requirePhase(input.mega, input.phase);
    const refused = this.checkToken(row, input.token, instance);
    return refused ? { ok: false, ...refused } : { ok: true, phase: toRef(row), key: row.id, kind: row.id_kind };
  }

  /**
   * A token is not a bearer token: it is accepted only from the session holding the claim, so a
   * token read from another session's answers, logs or files opens nothing. Adopting the claims of
   * an interrupted session goes through session_start {resume}, which issues fresh tokens.
   */
  private checkToken(row: PhaseRow, token: string, instance: string): { reason: TokenRefusal; owner?: string; message: string } | null {
    const label = `${row.mega}/${row.id}`;
    if (row.owner === null) {
      const state = row.completed_at !== null ? `was completed by ${row.completed_by}` : 'is not claimed (its claim was released)';
      return { reason: 'not_claimed', message: `${label} ${state}; this token is no longer valid — claim again before writing` };
    }
    if (row.token !== token) {
      return { reason: 'stale_token', owner: row.owner, message: `this token for ${label} is not current: the phase is now held by ${row.owner}; stop work on it` };
    }
    if (row.owner !== instance) {
      return { reason: 'not_owner', owner: row.owner, message: `${label} is held by ${row.owner}, not by this session (${instance}): a claim token works only in the session that claimed it; to take over an interrupted session's claims call session_start {resume: true}` };
    }
    return null;
  }

  // ---------------------------------------------------------------- reads

  board(mega?: string): BoardMega[] {
    const megas = mega !== undefined ? [this.requireMega(mega)] : this.q.megas.all();
    const states = new Map<string, ReturnType<SessionsStore['ownerState']>>();
    const stateOf = (owner: string) => {
      let st = states.get(owner);
      if (st === undefined) states.set(owner, (st = this.sessions.ownerState(owner)));
      return st;
    };
    return megas.map((m) => {
      const rows = this.q.phasesOf.all(m.key);
      const checkpoints = this.checkpointsOf?.(m.key);
      const done = new Set(rows.filter((r) => r.completed_at !== null).map((r) => r.id));
      const phases = rows.map((r): BoardPhase => {
        const deps = JSON.parse(r.deps) as PhaseId[];
        const status: PhaseStatus =
          r.completed_at !== null ? 'done' : r.owner !== null ? 'claimed' : deps.every((d) => done.has(phaseKey(d))) ? 'ready' : 'blocked';
        const state = r.owner !== null ? stateOf(r.owner) : 'live';
        return {
          ...toRef(r),
          status,
          owner: r.owner,
          ...(state !== 'live' ? { owner_state: state, resume: resumeCommand(r.owner as string) } : {}),
          claimed_at: r.owner !== null || r.completed_at !== null ? iso(r.claimed_at) : null,
          lease_expires_at: r.owner !== null ? iso(r.lease_expires_at) : null,
          completed_at: iso(r.completed_at),
          completed_by: r.completed_by,
          ...(checkpoints ? { checkpoint: checkpoints.get(r.id) ?? null } : {}),
        };
      });
      const sum = (xs: BoardPhase[]) => xs.reduce((a, p) => a + (p.points ?? 0), 0);
      return {
        key: m.key,
        title: m.title,
        source: m.source,
        total: phases.length,
        done: phases.filter((p) => p.status === 'done').length,
        claimed: phases.filter((p) => p.status === 'claimed').length,
        ready: phases.filter((p) => p.status === 'ready').length,
        points_total: sum(phases),
        points_done: sum(phases.filter((p) => p.status === 'done')),
        phases,
      };
    });
  }

  private claimsOfStmt: Statement<[string], PhaseRow> | undefined;

  /** Open claims of one session, for resume answers and session_end. */
  claimsOf(instance: string): PhaseRow[] {
    this.claimsOfStmt ??= this.db.prepare<[string], PhaseRow>('SELECT * FROM phases WHERE owner = ? ORDER BY mega, ord');
    return this.claimsOfStmt.all(instance);
  }

  private remaining(mega: string | undefined): number {
    return (mega !== undefined ? this.q.remainingIn.get(mega) : this.q.remainingAll.get())?.n ?? 0;
  }

  private requireMega(key: string): { key: string; title: string; source: string | null } {
    const m = this.q.mega.get(key);
    if (!m) {
      const known = this.q.megas.all().map((x) => x.key);
      throw new InputError('mega', `unknown MEGA ${JSON.stringify(key)}${known.length ? ` (known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})` : ' (none planned yet: call plan_mega first)'}`);
    }
    return m;
  }

  private requirePhase(mega: string, id: PhaseId): PhaseRow {
    this.requireMega(mega);
    const row = this.q.phase.get(mega, phaseKey(id));
    if (!row) {
      const known = this.q.phasesOf.all(mega).map((r) => r.id);
      throw new InputError('phase', `unknown phase ${JSON.stringify(id)} in MEGA ${mega} (known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''})`);
    }
    return row;
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
