import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { Tx } from '../core/db.js';
import type { OperationsStore } from '../core/operations.js';
import type { SessionsStore } from '../sessions/store.js';
import type { Checkpoint } from '../sessions/checkpoints.js';
import { InputError } from '../core/errors.js';
import { describePlanProblem, findPlanProblem } from './dag.js';
import { phaseIdFromStore, phaseKey, type PhaseId } from '../core/ids.js';
import { isStale, leaseExpiry } from './lease.js';
import { resumeCommand } from '../sessions/domain.js';
import { iso } from '../core/time.js';
import { toRef, type MegaRow, type PhaseRef, type PhaseRow, type PhasesStore, type PlanInput } from './store.js';
import { PAGE, checkpointBrief, decodeCursor, encodeCursor, fillPage, jsonBytes } from './paging.js';
import { checkReservationGlobs, overlapVerdict, type ReservationMode, type Reservations } from '../pipeline/reservations.js';
import type {
  BoardInput,
  BoardMegaSchema,
  BoardOutput,
  BoardPhaseSchema,
  ClaimPhaseInput,
  ClaimReasonSchema,
  ClaimResultSchema,
  CompletePhaseInput,
  CompletePhaseOutput,
  HeartbeatInput,
  HeartbeatOutput,
  PlanMegaOutput,
  ReleasePhaseInput,
  ReleasePhaseOutput,
  TokenRefusalSchema,
} from '../../schemas/phases.js';

export type { PhaseRef, PhaseRow, PlanInput } from './store.js';

export type ClaimReason = z.output<typeof ClaimReasonSchema>;
export type ClaimInput = z.output<typeof ClaimPhaseInput>;
export type ClaimResult = z.output<typeof ClaimResultSchema>;
export type TokenInput = z.output<typeof HeartbeatInput>;
export type TokenRefusal = z.output<typeof TokenRefusalSchema>;
export type CompleteRefusal = 'kill_switch' | 'dod_not_passed' | 'awaiting_human';
export type PlanResult = z.output<typeof PlanMegaOutput>;
export type HeartbeatResult = z.output<typeof HeartbeatOutput>;
export type CompleteResult = z.output<typeof CompletePhaseOutput>;
export type ReleaseResult = z.output<typeof ReleasePhaseOutput>;
export type BoardPhase = z.output<typeof BoardPhaseSchema>;
export type BoardMega = z.output<typeof BoardMegaSchema>;
/** A MEGA with every one of its phases (the unpaged board()). */
export type BoardMegaFull = BoardMega & { phases: BoardPhase[] };
/** A page of the board: its answer without the config's autonomy. */
export type BoardPage = Omit<z.output<typeof BoardOutput>, 'autonomy'>;
export type BoardQuery = z.output<typeof BoardInput>;
export type PhaseStatus = BoardPhase['status'];

/**
 * Extra conditions on claiming, supplied by governance (kill switch, cost cap) and the council
 * gate. Each returns a refusal or null; they run inside the claim transaction.
 */
export interface ClaimGuards {
  /** Async preparation before the transaction (governance refreshes its GitHub kill-switch cache). */
  prepare?: () => Promise<void>;
  /** Database reads only (it runs in the transaction): no network, no timers. */
  beforeClaim?: () => Awaitable<{ reason: ClaimReason; message: string } | null>;
  /** Refuses completions (the kill switch, DoD and Ask gates); reads and releases keep working. */
  beforeComplete?: () => Awaitable<{ reason: CompleteRefusal; message: string } | null>;
  /** `maxPoints`: the most points the phase was ever planned with (its row's, read with it). */
  phase?: (p: PhaseRef, maxPoints: number | null) => Awaitable<{ reason: ClaimReason; message: string } | null>;
  /** `phases.reservations` of the config: a claim overlapping another owner's files is refused (default) or warned about. */
  filesMode?: ReservationMode;
}

/** A guard's answer, computed at once or read from the database. */
type Awaitable<T> = T | Promise<T>;

/** The files a claim asks to reserve, checked, and what an overlap does. */
interface FilesRequest {
  globs: string[];
  mode: ReservationMode;
}

/** A claim answer with the warnings of warn mode, said in its message too (clients may show the model only the text). */
function warnedOf(r: ClaimResult, warned: Pick<ClaimResult, 'reserved_by' | 'warnings'> | undefined): ClaimResult {
  return warned ? { ...r, ...warned, message: `${r.message}; warning: ${(warned.warnings ?? []).join('; ')}` } : r;
}

/** The points the council gate reads from the most a phase was ever planned with and its points now. */
export function gatePoints(most: number | null, points: number | null): number | null {
  return most !== null && (points === null || most > points) ? most : points;
}

/**
 * Phase ownership: planning, claims (named or next ready), fencing tokens, leases, chaining,
 * completion, release, re-plans. The only entry point tools, CLI and HTTP call; the SQL is
 * PhasesStore's. Every write is one BEGIN IMMEDIATE transaction; no state lives in memory.
 */
export class PhasesService {
  /** File reservations on claims (src/pipeline/reservations.ts), set by the Store. */
  reservations: Reservations | null = null;

  constructor(
    private readonly tx: Tx,
    private readonly rows: PhasesStore,
    private readonly ops: OperationsStore,
    private readonly sessions: SessionsStore,
    private readonly defaultLeaseSeconds: number,
    /** Latest checkpoint per phase key of a MEGA, shown on the board (set by the Store). */
    private readonly checkpointsOf?: (mega: string) => Promise<Map<string, Checkpoint>>,
  ) {}

  /**
   * The points the council gate reads: the most the phase was ever planned with, so a re-plan that
   * lowers (or drops) its points does not take it below council.gate_points.
   */
  async gatePoints(mega: string, id: string, points: number | null): Promise<number | null> {
    return gatePoints(await this.rows.maxPoints(mega, id), points);
  }

  // ---------------------------------------------------------------- planning

  async plan(instance: string, input: PlanInput, now: number): Promise<PlanResult> {
    const problem = findPlanProblem(input.phases.map((p) => ({ id: p.id, deps: p.deps ?? [] })));
    if (problem) throw new InputError(problem.field, describePlanProblem(problem));
    return this.tx(async () => {
      const existing = await this.rows.mega(input.key);
      const before = existing ? await this.rows.phasesOf(input.key) : [];
      const keep = new Set(input.phases.map((p) => phaseKey(p.id)));
      const removed = before.filter((r) => !keep.has(r.id));
      for (const r of removed) {
        if (r.owner !== null || r.completed_at !== null) {
          const what = r.owner !== null ? `is claimed by ${r.owner}` : `was completed by ${r.completed_by ?? 'someone'}`;
          throw new InputError('phases', `phase ${JSON.stringify(phaseIdFromStore(r.id, r.id_kind))} ${what}; a re-plan must keep it (release it first to drop it)`);
        }
      }
      await this.rows.writePlan(
        input,
        existing,
        removed.map((r) => r.id),
        now,
      );
      await this.ops.append(now, {
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
        ready: (await this.rows.ready(input.key, -1, 0)).map((r) => phaseIdFromStore(r.id, r.id_kind)),
      };
    });
  }

  // ---------------------------------------------------------------- claims

  /** Refreshes every lease a session holds ("any tool call refreshes its leases"). */
  async touch(instance: string, now: number): Promise<void> {
    await this.tx(async () => {
      await this.rows.touchLeases(instance, now);
      await this.sessions.markSeen(instance, now);
    });
  }

  async claim(instance: string, input: ClaimInput, now: number, guards: ClaimGuards = {}): Promise<ClaimResult> {
    if (input.phase !== undefined && input.mega === undefined) {
      throw new InputError('mega', 'required when phase is given (a phase id is unique only within its MEGA)');
    }
    const leaseSeconds = input.lease_seconds ?? this.defaultLeaseSeconds;
    const files: FilesRequest = { globs: input.files ? checkReservationGlobs('files', input.files) : [], mode: guards.filesMode ?? 'enforce' };
    return this.tx(async () => {
      // A named claim looks its phase (and MEGA) up first. Claim-next looks the MEGA up only when
      // it takes no phase (a ready row proves the MEGA): an unknown MEGA's InputError then rolls
      // back whatever the transaction did before it, so the answer and the database are as before.
      const named = input.phase !== undefined ? await this.requirePhase(input.mega as string, input.phase) : null;
      await this.releaseStale(instance, now);
      const blocked = await guards.beforeClaim?.();
      if (blocked) {
        if (input.mega !== undefined && !named) await this.requireMega(input.mega);
        return { claimed: false, ...blocked, remaining: await this.rows.remaining(input.mega) };
      }
      // Read again: releaseStale may have just released it.
      if (named) return this.claimNamed(instance, (await this.rows.phase(named.mega, named.id)) as PhaseRow, leaseSeconds, now, guards, files);
      return this.claimNext(instance, input.mega, leaseSeconds, now, guards, files);
    });
  }

  private async claimNamed(instance: string, row: PhaseRow, leaseSeconds: number, now: number, guards: ClaimGuards, files?: FilesRequest): Promise<ClaimResult> {
    const ref = toRef(row);
    const label = `${row.mega}/${row.id}`;
    if (row.completed_at !== null) {
      return {
        claimed: false,
        reason: 'already_completed',
        phase: ref,
        owner: row.completed_by ?? undefined,
        message: `${label} was already completed by ${row.completed_by} at ${iso(row.completed_at)}`,
      };
    }
    if (row.owner === instance && row.token) {
      // A retry by the owner (its answer was lost): hand back the same claim, lease refreshed.
      const overlap = await this.filesRefusal(instance, ref, files, now);
      if (overlap.refusal) return { ...overlap.refusal, message: `${overlap.refusal.message} (you still hold ${label}; its reservation is unchanged)` };
      const expires = leaseExpiry(now, leaseSeconds);
      await this.rows.setLease(row.mega, row.id, expires);
      const reserved = await this.reserve(row, files, now);
      return warnedOf(
        { claimed: true, phase: ref, token: row.token, lease_expires_at: iso(expires), owner: instance, ...reserved, message: `you already hold ${label}; lease refreshed` },
        overlap.warned,
      );
    }
    if (row.owner !== null) {
      const state = await this.sessions.ownerState(row.owner);
      if (state !== 'live') {
        const how = state === 'parked' ? 'parked it at session_end' : 'was interrupted (gone without session_end)';
        return {
          claimed: false,
          reason: state,
          phase: ref,
          owner: row.owner,
          message: `${label} is held by ${row.owner}, which ${how}; ${resumeCommand(row.owner)} adopts its claims with fresh tokens`,
        };
      }
      return {
        claimed: false,
        reason: 'already_claimed',
        phase: ref,
        owner: row.owner,
        message: `${label} is claimed by ${row.owner} until at least ${iso(row.lease_expires_at)}; pick another phase`,
      };
    }
    const unmet = await this.rows.unmetDeps(row.mega, row.id);
    if (unmet.length > 0) {
      const ids = unmet.map((u) => phaseIdFromStore(u.dep, u.id_kind));
      return { claimed: false, reason: 'deps_unmet', phase: ref, unmet_deps: ids, message: `${label} waits on unfinished phases ${ids.map((i) => JSON.stringify(i)).join(', ')}` };
    }
    const refused = await guards.phase?.(ref, row.max_points);
    if (refused) return { claimed: false, phase: ref, ...refused };
    const overlap = await this.filesRefusal(instance, ref, files, now);
    if (overlap.refusal) return overlap.refusal;
    return warnedOf(await this.take(instance, row, leaseSeconds, now, undefined, files), overlap.warned);
  }

  /**
   * Whether the globs a claim asks for overlap another owner's live reservation: in enforce mode a
   * files_reserved refusal naming the owners, phases and globs; in warn mode the same as warnings.
   * The overlap does not depend on the phase, so claim-next stops at the first refusal. A claim
   * without files (most) gets a settled answer, no async frame (issue 14's hot path).
   */
  private filesRefusal(instance: string, ref: PhaseRef, files: FilesRequest | undefined, now: number): Promise<{ refusal?: ClaimResult; warned?: Pick<ClaimResult, 'reserved_by' | 'warnings'> }> {
    if (!files?.globs.length || !this.reservations) return Promise.resolve({});
    return this.reservations.conflicts(instance, files.globs, now).then((conflicts) => {
      const { refused, warned } = overlapVerdict(conflicts, files.mode);
      return refused ? { refusal: { claimed: false, reason: 'files_reserved', phase: ref, ...refused } } : warned ? { warned } : {};
    });
  }

  /** Records the globs of a claim (added to what it holds); the claim's globs for the answer. */
  private reserve(row: PhaseRow, files: FilesRequest | undefined, now: number): Promise<Pick<ClaimResult, 'files'>> {
    if (!this.reservations || !files?.globs.length) return Promise.resolve({});
    return this.reservations.add('files', row.mega, row.id, files.globs, now).then((added) => ({ files: added }));
  }

  private async claimNext(instance: string, mega: string | undefined, leaseSeconds: number, now: number, guards: ClaimGuards, files?: FilesRequest): Promise<ClaimResult> {
    // Ready phases in plan order, a page at a time (guards may refuse some, e.g. the council gate).
    // The first page is one row: in the common case (no guard refuses) that is all it takes.
    let refusal: { reason: ClaimReason; message: string; phase: PhaseRef } | null = null;
    for (let offset = 0, page = 1; ; offset += page, page = 32) {
      const rows = await this.rows.ready(mega, page, offset);
      for (const row of rows) {
        const ref = toRef(row);
        const refused = await guards.phase?.(ref, row.max_points);
        if (!refused) {
          const overlap = await this.filesRefusal(instance, ref, files, now);
          if (overlap.refusal) return { ...overlap.refusal, remaining: await this.rows.remaining(mega) };
          return warnedOf(await this.take(instance, row, leaseSeconds, now, undefined, files), overlap.warned);
        }
        refusal ??= { ...refused, phase: ref };
      }
      if (rows.length < page) break;
    }
    if (mega !== undefined) await this.requireMega(mega);
    const remaining = await this.rows.remaining(mega);
    if (refusal) return { claimed: false, ...refusal, remaining };
    const scope = mega ?? 'any MEGA';
    if (remaining === 0) return { claimed: false, reason: 'no_ready_phase', remaining, message: `every phase of ${scope} is done; nothing left to claim` };
    // Work held by owners that will not come back on their own: say who, and how to adopt it.
    const stuck = await this.adoptableOwners(mega);
    if (stuck.length) {
      const list = stuck.map((o) => `${o.owner} (${o.state}, ${o.phases} phase${o.phases === 1 ? '' : 's'})`).join(', ');
      const first = stuck[0] as (typeof stuck)[number];
      const resume = stuck.length === 1 ? resumeCommand(first.owner) : `${resumeCommand(first.owner)} (or {"resume":true} for all)`;
      return {
        claimed: false,
        reason: 'no_ready_phase',
        owner: first.owner,
        remaining,
        message: `no phase of ${scope} is ready: ${remaining} not done; claims are held by sessions that parked them or are gone: ${list}; ${resume} adopts them`,
      };
    }
    return { claimed: false, reason: 'no_ready_phase', remaining, message: `no phase of ${scope} is ready: ${remaining} not done, all claimed or waiting on dependencies; try again later` };
  }

  /** Owners of open claims (in a MEGA, or all) that parked them or are gone, with their claim counts; at most 20 owners looked at. */
  private async adoptableOwners(mega: string | undefined): Promise<{ owner: string; state: 'parked' | 'interrupted'; phases: number }[]> {
    const out: { owner: string; state: 'parked' | 'interrupted'; phases: number }[] = [];
    for (const o of await this.rows.owners(mega)) {
      const state = await this.sessions.ownerState(o.owner);
      if (state !== 'live') out.push({ owner: o.owner, state, phases: o.n });
    }
    return out;
  }

  /** A fresh claim: the epoch moves on and a new token is issued, so every older token is refused. */
  private async take(instance: string, row: PhaseRow, leaseSeconds: number, now: number, adoptedFrom?: string, files?: FilesRequest): Promise<ClaimResult> {
    const epoch = row.epoch + 1;
    if (!adoptedFrom) await this.reservations?.reset(row.mega, row.id); // an adopter keeps the claim's reservation
    const reserved = await this.reserve(row, files, now);
    const token = `fx${epoch}-${randomUUID().slice(0, 18)}`; // epoch first: tokens of one phase only grow
    const expires = leaseExpiry(now, leaseSeconds);
    await this.rows.setClaim(row.mega, row.id, { owner: instance, token, epoch, claimed_at: now, lease_seconds: leaseSeconds, lease_expires_at: expires });
    const message = adoptedFrom ? `${instance} adopted ${row.mega}/${row.id} "${row.name}" from session ${adoptedFrom}` : `${instance} claimed ${row.mega}/${row.id} "${row.name}"`;
    await this.ops.append(now, {
      instance,
      kind: 'claim',
      mega: row.mega,
      phase: row.id,
      message,
      data: { epoch, lease_seconds: leaseSeconds, ...(adoptedFrom ? { adopted_from: adoptedFrom } : {}), ...(reserved.files ? { files: reserved.files } : {}) },
    });
    return {
      claimed: true,
      phase: toRef(row),
      token,
      lease_expires_at: iso(expires),
      owner: instance,
      ...reserved,
      message: `claimed ${row.mega}/${row.id} "${row.name}"; heartbeat before ${iso(expires)} or call any tool`,
    };
  }

  /**
   * Hands every claim of an interrupted session to `instance` with fresh tokens (resume). Runs in
   * the caller's transaction when there is one.
   */
  async adopt(instance: string, from: string, now: number): Promise<ClaimResult[]> {
    return this.tx(async () => {
      const out: ClaimResult[] = [];
      for (const row of await this.rows.claimsOf(from)) out.push(await this.take(instance, row, row.lease_seconds ?? this.defaultLeaseSeconds, now, from));
      return out;
    });
  }

  /** Whether a MEGA of that key was planned. */
  async hasMega(key: string): Promise<boolean> {
    return (await this.rows.mega(key)) !== undefined;
  }

  /** Stored key and id kind of a phase (InputError when unknown). */
  async phaseKeyOf(mega: string, id: PhaseId): Promise<{ key: string; kind: string }> {
    const row = await this.requirePhase(mega, id);
    return { key: row.id, kind: row.id_kind };
  }

  /** Import: marks a phase done as the claim file says (who and when), logged as an imported completion. */
  async recordCompletion(instance: string, mega: string, id: PhaseId, p: { by: string; claimed_at: number | null; completed_at: number }, now: number): Promise<'recorded' | 'kept'> {
    return this.tx(async () => {
      const row = await this.requirePhase(mega, id);
      // The database wins over a claim file: a live claim or a recorded completion is kept as it is.
      if (row.owner !== null || row.completed_at !== null) return 'kept';
      await this.rows.writeImportedCompletion(mega, row.id, p);
      await this.ops.append(now, {
        instance,
        kind: 'complete',
        mega,
        phase: row.id,
        message: `imported: ${p.by} completed ${mega}/${row.id} "${row.name}" at ${iso(p.completed_at)}`,
        data: { imported: true, by: p.by, claimed_at: p.claimed_at, completed_at: p.completed_at },
      });
      return 'recorded';
    });
  }

  /** Releases every claim whose lease passed and whose owner is not alive, recording each release. */
  private async releaseStale(instance: string, now: number): Promise<void> {
    for (const r of await this.rows.expired(now)) {
      if (r.owner === instance || r.lease_expires_at === null) continue;
      const liveness = await this.sessions.liveness(r.owner as string);
      if (!isStale(r.lease_expires_at, now, liveness)) continue;
      await this.rows.clearClaim(r.mega, r.id);
      await this.ops.append(now, {
        instance,
        kind: 'release',
        mega: r.mega,
        phase: r.id,
        message: `released stale claim of ${r.mega}/${r.id} held by ${r.owner} (lease ended ${iso(r.lease_expires_at)}, owner ${liveness})`,
        data: { reason: 'stale', previous_owner: r.owner, lease_expires_at: r.lease_expires_at, owner_liveness: liveness },
      });
    }
  }

  async heartbeat(instance: string, input: TokenInput, now: number): Promise<HeartbeatResult> {
    return this.tx(async () => {
      const row = await this.requirePhase(input.mega, input.phase);
      const refused = this.checkToken(row, input.token, instance);
      if (refused) return { ok: false, ...refused };
      const expires = leaseExpiry(now, row.lease_seconds ?? this.defaultLeaseSeconds);
      await this.rows.setLease(row.mega, row.id, expires);
      await this.sessions.markSeen(instance, now);
      return { ok: true, lease_expires_at: iso(expires), message: `lease on ${row.mega}/${row.id} extended to ${iso(expires)}` };
    });
  }

  async complete(instance: string, input: z.output<typeof CompletePhaseInput>, now: number, guards: ClaimGuards = {}): Promise<CompleteResult> {
    return this.tx(async () => {
      const row = await this.requirePhase(input.mega, input.phase);
      const label = `${row.mega}/${row.id}`;
      if (row.completed_at !== null && row.token === input.token && row.completed_by === instance) {
        // A retry (the first answer was lost). Its chained claim, if it made one, is still held:
        // hand that back rather than claiming a second phase the caller would never hear of.
        const r = { completed: true, phase: toRef(row), message: `${label} was already completed (by this token)` };
        if (!input.chain) return r;
        const held = (await this.rows.claimsOf(instance)).filter((c) => c.claimed_at !== null && c.claimed_at >= (row.completed_at as number));
        const mine = held.find((c) => c.mega === row.mega) ?? held[0];
        if (mine) {
          const expires = iso(mine.lease_expires_at) as string;
          return {
            ...r,
            next: {
              claimed: true,
              phase: toRef(mine),
              token: mine.token as string,
              lease_expires_at: expires,
              owner: instance,
              message: `you already hold ${mine.mega}/${mine.id}, chained when ${label} was completed`,
            },
          };
        }
        return { ...r, next: await this.chainNext(instance, row.mega, input.lease_seconds, now, guards) };
      }
      const refused = this.checkToken(row, input.token, instance);
      if (refused) return { completed: false, phase: toRef(row), ...refused };
      const stopped = await guards.beforeComplete?.();
      if (stopped) return { completed: false, phase: toRef(row), ...stopped };
      await this.rows.complete(row.mega, row.id, instance, now);
      await this.ops.append(now, {
        instance,
        kind: 'complete',
        mega: row.mega,
        phase: row.id,
        message: `${instance} completed ${label} "${row.name}"`,
        data: { claimed_at: row.claimed_at, took_ms: row.claimed_at === null ? null : now - row.claimed_at },
      });
      const done = { completed: true, phase: toRef(row), message: `completed ${label}` };
      return input.chain ? { ...done, next: await this.chainNext(instance, row.mega, input.lease_seconds, now, guards) } : done;
    });
  }

  /** Phase chaining: the next ready phase of the same MEGA, else of any MEGA. */
  private async chainNext(instance: string, mega: string, leaseSeconds: number | undefined, now: number, guards: ClaimGuards): Promise<ClaimResult> {
    await this.releaseStale(instance, now);
    const blocked = await guards.beforeClaim?.();
    if (blocked) return { claimed: false, ...blocked, remaining: await this.rows.remaining(undefined) };
    const lease = leaseSeconds ?? this.defaultLeaseSeconds;
    const same = await this.claimNext(instance, mega, lease, now, guards);
    if (same.claimed || (same.remaining ?? 0) > 0) return same;
    return this.claimNext(instance, undefined, lease, now, guards);
  }

  /**
   * Marks phases done because the tracker says so (sync_plan). Claimed phases are left to their
   * owner and returned in `skipped`; already completed ones are unchanged.
   */
  async markDone(instance: string, mega: string, ids: readonly PhaseId[], now: number, source: string): Promise<{ marked: PhaseId[]; skipped: PhaseId[] }> {
    return this.tx(async () => {
      const marked: PhaseId[] = [];
      const skipped: PhaseId[] = [];
      for (const id of ids) {
        const row = await this.requirePhase(mega, id);
        if (row.completed_at !== null) continue;
        if (row.owner !== null) {
          skipped.push(id);
          continue;
        }
        await this.rows.complete(row.mega, row.id, instance, now);
        await this.ops.append(now, { instance, kind: 'complete', mega: row.mega, phase: row.id, message: `${row.mega}/${row.id} "${row.name}" is done in ${source}`, data: { source } });
        marked.push(id);
      }
      return { marked, skipped };
    });
  }

  async release(instance: string, input: z.output<typeof ReleasePhaseInput>, now: number): Promise<ReleaseResult> {
    return this.tx(async () => {
      const row = await this.requirePhase(input.mega, input.phase);
      const refused = this.checkToken(row, input.token, instance);
      if (refused) return { released: false, ...refused };
      await this.rows.clearClaim(row.mega, row.id);
      await this.ops.append(now, { instance, kind: 'release', mega: row.mega, phase: row.id, message: `${instance} released ${row.mega}/${row.id}: ${input.reason}`, data: { reason: input.reason } });
      return { released: true, message: `released ${row.mega}/${row.id}; it is claimable again` };
    });
  }

  /**
   * Whether `token` is `instance`'s current claim on the phase, for writes other stores make on a
   * held phase; with its stored key and id kind when it is. Call inside a write transaction.
   * Unknown MEGA or phase: InputError.
   */
  async verifyToken(input: TokenInput, instance: string): Promise<{ ok: true; phase: PhaseRef; key: string; kind: string } | { ok: false; reason: TokenRefusal; owner?: string; message: string }> {
    const row = await this.requirePhase(input.mega, input.phase);
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
      return {
        reason: 'not_owner',
        owner: row.owner,
        message: `${label} is held by ${row.owner}, not by this session (${instance}): a claim token works only in the session that claimed it; to take over an interrupted session's claims call session_start {resume: true}`,
      };
    }
    return null;
  }

  // ---------------------------------------------------------------- reads

  /**
   * The board a page at a time: without `mega`, a summary per MEGA (counts by status, points,
   * owners) in the order they were planned, each MEGA's phases too while the whole board is small;
   * with `mega`, that MEGA's summary and a page of its phases in plan order. `cursor` (from the
   * last answer) says where the page starts; every answer stays within PAGE.bytes of items.
   */
  async boardPage(input: BoardQuery): Promise<BoardPage> {
    const limit = input.limit ?? PAGE.limit;
    const at = input.cursor !== undefined ? decodeCursor(input.cursor, input.mega) : null;
    const view = this.boardView();
    const megasTotal = await this.rows.megaCount();
    if (input.mega !== undefined) {
      const m = await this.requireMega(input.mega);
      const page = await fillPage(await this.rows.phasesAfter(m.key, at?.kind === 'phases' ? at.ord : -1, limit + 1), limit, (r) => view.phase(r));
      const cursor = page.more && page.last ? encodeCursor({ kind: 'phases', mega: m.key, ord: page.last.ord }) : undefined;
      return { megas: [{ ...(await this.summary(m)), phases: page.items }], megas_total: megasTotal, ...(cursor ? { cursor } : {}) };
    }
    const page = await fillPage(await this.rows.megasAfter(at?.kind === 'megas' ? at : null, limit + 1), limit, (m) => this.summary(m));
    const cursor = page.more && page.last ? encodeCursor({ kind: 'megas', at: page.last.created_at, key: page.last.key }) : undefined;
    // A small board answers as it did before paging: every MEGA with its phases, when they fit one page.
    if (!at && !cursor && page.items.reduce((n, m) => n + m.total, 0) <= PAGE.smallBoard) {
      const full: BoardMegaFull[] = [];
      for (const m of page.items) full.push({ ...m, phases: await view.phases(await this.rows.phasesOf(m.key)) });
      if (jsonBytes(full) <= PAGE.bytes) return { megas: full, megas_total: megasTotal };
    }
    return { megas: page.items, megas_total: megasTotal, ...(cursor ? { cursor } : {}) };
  }

  /** Every page of a board query, joined (for a terminal: `factory-mcp status`): the MEGA summaries, or one MEGA with all its phases. */
  async boardPages(mega?: string): Promise<BoardMega[]> {
    const out: BoardMega[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.boardPage({ mega, cursor, limit: PAGE.maxLimit });
      const first = out[0];
      if (mega !== undefined && first) first.phases?.push(...(page.megas[0]?.phases ?? []));
      else out.push(...page.megas);
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  /**
   * Every MEGA (or one) with all its phases, unpaged: for `factory-mcp export` and for checks on one
   * MEGA inside the server (council subjects, GitHub statuses). Answers page with boardPage.
   */
  async board(mega?: string): Promise<BoardMegaFull[]> {
    const view = this.boardView();
    const megas = mega !== undefined ? [await this.requireMega(mega)] : await this.rows.megas();
    const out: BoardMegaFull[] = [];
    for (const m of megas) out.push({ ...(await this.summary(m)), phases: await view.phases(await this.rows.phasesOf(m.key)) });
    return out;
  }

  private async summary(m: MegaRow): Promise<BoardMega> {
    const owners = (await this.rows.owners(m.key)).map((o) => ({ instance: o.owner, phases: o.n }));
    return { key: m.key, title: m.title, source: m.source, ...(await this.rows.counts(m.key)), owners };
  }

  /** Phase rows as the board shows them; owners' states and each MEGA's checkpoints read once per answer. */
  private boardView(): { phase: (r: PhaseRow) => Promise<BoardPhase>; phases: (rows: readonly PhaseRow[]) => Promise<BoardPhase[]> } {
    const states = new Map<string, Awaited<ReturnType<SessionsStore['ownerState']>>>();
    const stateOf = async (owner: string) => {
      let st = states.get(owner);
      if (st === undefined) states.set(owner, (st = await this.sessions.ownerState(owner)));
      return st;
    };
    const checkpoints = new Map<string, Map<string, Checkpoint> | undefined>();
    const checkpointsOf = async (mega: string) => {
      if (!checkpoints.has(mega)) checkpoints.set(mega, await this.checkpointsOf?.(mega));
      return checkpoints.get(mega);
    };
    const phase = async (r: PhaseRow): Promise<BoardPhase> => {
      const status: PhaseStatus = r.completed_at !== null ? 'done' : r.owner !== null ? 'claimed' : r.unmet === 0 ? 'ready' : 'blocked';
      const state = r.owner !== null ? await stateOf(r.owner) : 'live';
      const cps = await checkpointsOf(r.mega);
      const cp = cps?.get(r.id);
      return {
        ...toRef(r),
        status,
        owner: r.owner,
        ...(state !== 'live' ? { owner_state: state, resume: resumeCommand(r.owner as string) } : {}),
        claimed_at: r.owner !== null || r.completed_at !== null ? iso(r.claimed_at) : null,
        lease_expires_at: r.owner !== null ? iso(r.lease_expires_at) : null,
        completed_at: iso(r.completed_at),
        completed_by: r.completed_by,
        ...(status === 'blocked' ? { waits_on: (await this.rows.unmetDeps(r.mega, r.id)).map((u) => phaseIdFromStore(u.dep, u.id_kind)) } : {}),
        ...(cps ? { checkpoint: cp ? checkpointBrief(cp) : null } : {}),
        ...(r.owner !== null ? await reservedFiles(r) : {}),
      };
    };
    const reservedFiles = async (r: PhaseRow): Promise<{ files?: string[] }> => {
      const files = await this.reservations?.ofPhase(r.mega, r.id);
      return files?.length ? { files } : {};
    };
    const phases = async (rows: readonly PhaseRow[]): Promise<BoardPhase[]> => {
      const out: BoardPhase[] = [];
      for (const r of rows) out.push(await phase(r));
      return out;
    };
    return { phase, phases };
  }

  /** Open claims of one session, for resume answers and session_end. */
  async claimsOf(instance: string): Promise<PhaseRow[]> {
    return this.rows.claimsOf(instance);
  }

  private async requireMega(key: string): Promise<MegaRow> {
    const m = await this.rows.mega(key);
    if (!m) {
      const known = (await this.rows.megas()).map((x) => x.key);
      throw new InputError(
        'mega',
        `unknown MEGA ${JSON.stringify(key)}${known.length ? ` (known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})` : ' (none planned yet: call plan_mega first)'}`,
      );
    }
    return m;
  }

  private async requirePhase(mega: string, id: PhaseId): Promise<PhaseRow> {
    await this.requireMega(mega);
    const row = await this.rows.phase(mega, phaseKey(id));
    if (!row) {
      const known = (await this.rows.phasesOf(mega)).map((r) => r.id);
      throw new InputError('phase', `unknown phase ${JSON.stringify(id)} in MEGA ${mega} (known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''})`);
    }
    return row;
  }
}
