import type { Tx } from '../core/db.js';
import type { CheckpointsStore, Checkpoint } from './checkpoints.js';
import type { MemoryStore, MemoryEntry, MemorySection } from './memory.js';
import type { OperationsStore } from '../core/operations.js';
import { toRef } from '../phases/store.js';
import type { PhasesService, PhaseRef } from '../phases/service.js';
import type { SessionsStore, SessionRow } from './store.js';
import type { UsageStore } from '../governance/usage.js';
import { InputError } from '../core/errors.js';
import { interruption, resumeCommand, type Interruption } from './domain.js';
import { phaseIdFromStore, type PhaseId } from '../core/ids.js';
import { RESERVED_KINDS, type CheckpointOutput } from '../../schemas/sessions.js';
import { iso } from '../core/time.js';
import { clip } from '../core/text.js';
import { checkReservationGlobs, overlapVerdict, type ReservationMode } from '../pipeline/reservations.js';
import type { z } from 'zod';

type CheckpointResult = z.output<typeof CheckpointOutput>;

export const CRASHED_SHOWN = 20;
export const MEMORY_SECTIONS: readonly MemorySection[] = ['status', 'decisions', 'known_issues'];
/** Kinds the server writes itself; log_operation may not forge them. */
export const SERVER_KINDS: ReadonlySet<string> = new Set(RESERVED_KINDS);

export type CrashedSession = {
  instance: string;
  agent: string | null;
  why: Interruption;
  last_seen: string;
  last_checkpoint: Checkpoint | null;
  phases: (PhaseRef & { lease_expires_at: string | null; checkpoint: Checkpoint | null })[];
};

export type Resumed = {
  from: string;
  phases: { mega: string; id: PhaseId; name: string; token: string; lease_expires_at: string; checkpoint: Checkpoint | null }[];
};

/**
 * The sessions service, the only entry point tools, CLI and HTTP call for sessions: the start/end
 * of a session, interrupted sessions and their adoption, checkpoints, memory, free log entries and
 * usage. Each write is one transaction together with its operations-log entry; the SQL is the
 * stores' (sessions, checkpoints, memory, usage, and the phases service for claims and MEGAs).
 */
export class SessionsService {
  constructor(
    private readonly tx: Tx,
    private readonly s: { sessions: SessionsStore; phases: PhasesService; operations: OperationsStore; checkpoints: CheckpointsStore; memory: MemoryStore; usage: UsageStore },
  ) {}

  /**
   * Sessions whose claims may be adopted now (the caller's own excluded), newest first: unfinished
   * sessions that count as interrupted, then sessions that parked claims at session_end.
   */
  async interrupted(self: string, now: number, defaultLeaseMs: number): Promise<{ row: SessionRow; why: Interruption }[]> {
    const out: { row: SessionRow; why: Interruption }[] = [];
    for (const row of await this.s.sessions.unfinished(self)) {
      const claims = await this.s.phases.claimsOf(row.instance);
      const leases = claims.map((c) => c.lease_expires_at).filter((x): x is number => x !== null);
      const why = interruption(row, await this.s.sessions.liveness(row.instance), now, defaultLeaseMs, leases.length ? Math.max(...leases) : null);
      if (why) out.push({ row, why });
    }
    for (const row of await this.s.sessions.parked(self)) out.push({ row, why: 'parked' });
    return out;
  }

  async describe(row: SessionRow, why: Interruption): Promise<CrashedSession> {
    const phases: CrashedSession['phases'] = [];
    for (const c of await this.s.phases.claimsOf(row.instance)) {
      phases.push({ ...toRef(c), lease_expires_at: c.lease_expires_at === null ? null : iso(c.lease_expires_at), checkpoint: await this.s.checkpoints.latestOfPhase(c.mega, c.id) });
    }
    return { instance: row.instance, agent: row.agent, why, last_seen: iso(row.last_seen_at), last_checkpoint: await this.s.checkpoints.latestOfInstance(row.instance), phases };
  }

  /**
   * session_start: names the agent, makes sure SESSION-START is logged, lists interrupted sessions
   * and, with `resume`, adopts their claims with fresh tokens (the old tokens are then refused).
   */
  async start(
    instance: string,
    input: { agent?: string | undefined; resume?: true | string | undefined },
    now: number,
    defaultLeaseMs: number,
  ): Promise<{ crashed: CrashedSession[]; crashed_total: number; resumed: Resumed[] }> {
    // Who is interrupted is decided under the write lock, with the adoption: a session that comes
    // back (or another resumer) between the check and the adoption cannot be overtaken.
    return this.tx(async () => {
      const found = await this.interrupted(instance, now, defaultLeaseMs);
      let targets: typeof found = [];
      if (input.resume === true) targets = found;
      else if (typeof input.resume === 'string') {
        const t = found.find((f) => f.row.instance === input.resume);
        if (!t) {
          const why =
            input.resume === instance
              ? 'that is this session'
              : (await this.s.sessions.get(input.resume))
                ? 'it ended holding nothing, was adopted already, or may still be running'
                : 'no such session';
          throw new InputError('resume', `${input.resume} is not an interrupted or parked session (${why}); adoptable: ${found.map((f) => f.row.instance).join(', ') || 'none'}`);
        }
        targets = [t];
      }
      if (input.agent) await this.s.sessions.setAgent(instance, input.agent);
      if (!(await this.s.operations.has(instance, 'session_start'))) {
        await this.s.operations.append(now, { instance, kind: 'session_start', message: `SESSION-START ${instance}${input.agent ? ` (${input.agent})` : ''}`, data: { agent: input.agent ?? null } });
      }
      const resumed: Resumed[] = [];
      for (const t of targets) {
        const claims = await this.s.phases.adopt(instance, t.row.instance, now);
        await this.s.sessions.markAdopted(t.row.instance, instance, now);
        const phases: Resumed['phases'] = [];
        for (const c of claims) {
          const ref = c.phase as PhaseRef;
          phases.push({
            mega: ref.mega,
            id: ref.id,
            name: ref.name,
            token: c.token as string,
            lease_expires_at: c.lease_expires_at as string,
            checkpoint: await this.s.checkpoints.latestOfPhase(ref.mega, String(ref.id)),
          });
        }
        await this.s.operations.append(now, {
          instance,
          kind: 'resume',
          message: `${instance} resumed ${t.why === 'parked' ? 'parked' : 'interrupted'} session ${t.row.instance} (${t.why}), adopting ${phases.length} claim${phases.length === 1 ? '' : 's'}`,
          data: { from: t.row.instance, why: t.why, phases: phases.map((p) => `${p.mega}/${p.id}`) },
        });
        resumed.push({ from: t.row.instance, phases });
      }
      const adopted = new Set(targets.map((t) => t.row.instance));
      const left = found.filter((f) => !adopted.has(f.row.instance));
      const crashed: CrashedSession[] = [];
      for (const f of left.slice(0, CRASHED_SHOWN)) crashed.push(await this.describe(f.row, f.why));
      return { crashed, crashed_total: left.length, resumed };
    });
  }

  /** session_end: logs SESSION-END; releases the session's claims when asked, else keeps them for a resume. */
  async end(
    instance: string,
    input: { summary?: string | undefined; release?: boolean | undefined },
    now: number,
  ): Promise<{ ended: boolean; released: { mega: string; id: PhaseId }[]; kept: { mega: string; id: PhaseId }[]; message: string }> {
    return this.tx(async () => {
      const row = await this.s.sessions.get(instance);
      if (row?.ended_at != null) return { ended: false, released: [], kept: [], message: `session ${instance} already ended at ${iso(row.ended_at)}` };
      const claims = await this.s.phases.claimsOf(instance);
      const ids = claims.map((c) => ({ mega: c.mega, id: phaseIdFromStore(c.id, c.id_kind) }));
      if (input.release) {
        for (const c of claims) await this.s.phases.release(instance, { mega: c.mega, phase: c.id, token: c.token as string, reason: 'session ended' }, now);
      }
      await this.s.sessions.end(instance, now, input.summary ?? null);
      await this.s.operations.append(now, {
        instance,
        kind: 'session_end',
        message: `SESSION-END ${instance}${input.summary ? `: ${clip(input.summary, 500)}` : ''}`,
        data: { summary: input.summary ?? null, released: input.release ? ids.length : 0, kept: input.release ? 0 : ids.length },
      });
      const released = input.release ? ids : [];
      const kept = input.release ? [] : ids;
      return {
        ended: true,
        released,
        kept,
        message: `session ${instance} ended${released.length ? `; released ${released.length} claim(s)` : kept.length ? `; parked ${kept.length} claim(s): ${resumeCommand(instance)} adopts them` : ''}`,
      };
    });
  }

  /**
   * The client went away without session_end. A session holding claims is interrupted (they stay
   * adoptable); one that holds nothing simply ended: there is nothing to recover, nothing to report.
   */
  async left(instance: string, now: number): Promise<void> {
    await this.tx(async () => {
      const row = await this.s.sessions.get(instance);
      if (!row || row.ended_at !== null) return;
      if ((await this.s.phases.claimsOf(instance)).length > 0) return this.s.sessions.markDisconnected(instance, now);
      await this.s.sessions.end(instance, now, 'left without session_end, holding nothing');
      await this.s.operations.append(now, {
        instance,
        kind: 'session_end',
        message: `SESSION-END ${instance}: left without session_end, holding nothing`,
        data: { summary: null, released: 0, kept: 0, left: true },
      });
    });
  }

  async checkpoint(
    instance: string,
    input: {
      mega?: string | undefined;
      phase?: PhaseId | undefined;
      token?: string | undefined;
      progress: { done: string[]; next: string[]; percent?: number | undefined; files?: string[] | undefined };
      note?: string | undefined;
      files?: string[] | undefined;
    },
    now: number,
    reservations: ReservationMode = 'enforce',
  ): Promise<CheckpointResult> {
    if (input.phase !== undefined && input.mega === undefined) throw new InputError('mega', 'required when phase is given');
    if (input.phase !== undefined && input.token === undefined) throw new InputError('token', 'required with phase: the claim token proves you still hold it');
    if (input.mega !== undefined && input.phase === undefined && !(await this.s.phases.hasMega(input.mega))) throw new InputError('mega', `unknown MEGA ${JSON.stringify(input.mega)}`);
    const globs = input.files ? checkReservationGlobs('files', input.files) : [];
    if (globs.length && input.phase === undefined) throw new InputError('files', 'reserves files for a claim: give mega, phase and token');
    return this.tx(async () => {
      let phase: { key: string; kind: string } | null = null;
      let widened: Pick<CheckpointResult, 'files' | 'reserved_by' | 'warnings'> = {};
      if (input.phase !== undefined) {
        const held = await this.s.phases.verifyToken({ mega: input.mega as string, phase: input.phase, token: input.token as string }, instance);
        if (!held.ok) return { saved: false, reason: held.reason, ...(held.owner ? { owner: held.owner } : {}), message: held.message };
        phase = { key: held.key, kind: held.kind };
        const files = this.s.phases.reservations;
        if (globs.length && files) {
          // Widening a claim's reservation: refused like a claim when it overlaps another owner's (nothing saved).
          const { refused, warned } = overlapVerdict(await files.conflicts(instance, globs, now), reservations);
          if (refused) return { saved: false, reason: 'files_reserved', ...refused, message: `nothing saved: ${refused.message}` };
          widened = { files: await files.add('files', input.mega as string, held.key, globs, now), ...warned };
        }
      }
      const p = input.progress;
      const id = await this.s.checkpoints.add(instance, now, {
        mega: input.mega ?? null,
        phase,
        done: p.done,
        next: p.next,
        percent: p.percent ?? null,
        files: p.files ?? [],
        note: input.note ?? null,
      });
      const scope = input.mega ? (phase ? `${input.mega}/${phase.key}` : input.mega) : 'session';
      await this.s.operations.append(now, {
        instance,
        kind: 'checkpoint',
        mega: input.mega ?? null,
        phase: phase?.key ?? null,
        message: `${instance} checkpoint ${scope}${p.percent !== undefined ? ` ${p.percent}%` : ''}: ${p.done.length} done${p.next.length ? `, next: ${clip(p.next[0] as string, 120)}` : ''}`,
        data: { checkpoint_id: id, percent: p.percent ?? null, done: p.done.length, next: p.next.length, files: (p.files ?? []).length },
      });
      return {
        saved: true,
        checkpoint_id: id,
        ...widened,
        message: `checkpoint ${id} saved for ${scope}${widened.files ? `; ${widened.files.length} glob(s) reserved` : ''}${widened.warnings ? `; warning: ${widened.warnings.join('; ')}` : ''}`,
      };
    });
  }

  /** `instance` may be lazy: a read needs no identity (and so creates no session). */
  async memory(
    instance: string | (() => Promise<string>),
    input: { op: 'read' | 'append'; section?: MemorySection | undefined; text?: string | undefined; limit?: number | undefined },
    now: number,
  ): Promise<{ entries: MemoryEntry[]; appended?: number }> {
    const limit = input.limit ?? 50;
    if (input.op === 'read') return { entries: await this.s.memory.read(input.section ? [input.section] : MEMORY_SECTIONS, limit) };
    if (!input.section) throw new InputError('section', `required for append (${MEMORY_SECTIONS.join(', ')})`);
    if (!input.text) throw new InputError('text', 'required for append');
    const section = input.section;
    const text = input.text;
    const who = typeof instance === 'string' ? instance : await instance();
    return this.tx(async () => {
      const agent = (await this.s.sessions.get(who))?.agent ?? null;
      const id = await this.s.memory.append(who, agent, now, section, text);
      await this.s.operations.append(now, { instance: who, kind: 'memory', message: `${who} noted in ${section}: ${clip(text.replace(/\s+/g, ' '), 160)}`, data: { memory_id: id, section } });
      return { entries: await this.s.memory.read([section], limit), appended: id };
    });
  }

  async log(
    instance: string,
    input: { kind: string; message: string; mega?: string | undefined; phase?: PhaseId | undefined; data?: Record<string, unknown> | undefined },
    now: number,
  ): Promise<{ seq: number; message: string }> {
    if (SERVER_KINDS.has(input.kind)) throw new InputError('kind', `${input.kind} is written by the server itself; use another kind (e.g. note)`);
    if (input.phase !== undefined && input.mega === undefined) throw new InputError('mega', 'required when phase is given');
    const data = input.data === undefined ? undefined : JSON.stringify(input.data);
    if (data !== undefined && data.length > 20_000) throw new InputError('data', 'too large (at most 20,000 characters of JSON)');
    return this.tx(async () => {
      const phase = input.mega !== undefined && input.phase !== undefined ? (await this.s.phases.phaseKeyOf(input.mega, input.phase)).key : null;
      if (input.mega !== undefined && phase === null && !(await this.s.phases.hasMega(input.mega))) throw new InputError('mega', `unknown MEGA ${JSON.stringify(input.mega)}`);
      const seq = await this.s.operations.append(now, { instance, kind: input.kind, mega: input.mega ?? null, phase, message: input.message, data: input.data });
      return { seq, message: `logged #${seq}` };
    });
  }

  async recordUsage(
    instance: string,
    input: { tokens: number; cost_usd: number; model?: string | undefined },
    now: number,
    today: () => Promise<number>,
  ): Promise<{ session_cost_usd: number; session_tokens: number; today_cost_usd: number }> {
    return this.tx(async () => {
      await this.s.usage.record(instance, now, input.tokens, input.cost_usd, input.model ?? null);
      await this.s.operations.append(now, {
        instance,
        kind: 'usage',
        message: `${instance} used ${input.tokens} tokens, $${input.cost_usd.toFixed(4)}${input.model ? ` (${input.model})` : ''}`,
        data: { tokens: input.tokens, cost_usd: input.cost_usd, model: input.model ?? null },
      });
      const mine = await this.s.usage.ofInstance(instance);
      return { session_cost_usd: mine.cost_usd, session_tokens: mine.tokens, today_cost_usd: await today() };
    });
  }
}
