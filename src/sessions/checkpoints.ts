import type { Sql } from '../core/sql.js';
import { phaseIdFromStore } from '../core/ids.js';
import { iso } from '../core/time.js';

/** A type, not an interface: it must fit the loose output schemas (index signature). */
export type Checkpoint = {
  id: number;
  at: string;
  by: string;
  mega: string | null;
  phase: number | string | null;
  done: string[];
  next: string[];
  percent: number | null;
  files: string[];
  note: string | null;
};

export interface NewCheckpoint {
  mega?: string | null;
  /** The phase's stored key and id kind (int/str), so the id comes back with its type. */
  phase?: { key: string; kind: string } | null;
  done: string[];
  next: string[];
  percent?: number | null;
  files?: string[];
  note?: string | null;
}

interface Row {
  id: number;
  ts: number;
  instance: string;
  mega: string | null;
  phase: string | null;
  phase_kind: string | null;
  done: string;
  next: string;
  percent: number | null;
  files: string;
  note: string | null;
}

const COLS = `c.id, c.ts, c.instance, c.mega, c.phase, p.id_kind AS phase_kind, c.done, c.next, c.percent, c.files, c.note`;
const FROM = `FROM checkpoints c LEFT JOIN phases p ON p.mega = c.mega AND p.id = c.phase`;

/** Progress checkpoints: append-only rows; the latest one of a phase or a session is what readers want. */
export class CheckpointsStore {
  private readonly q;

  constructor(sql: Sql) {
    this.q = {
      insert: sql.prepare<unknown[], { id: number }>('INSERT INTO checkpoints (ts, instance, mega, phase, done, next, percent, files, note) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id'),
      ofPhaseSince: sql.prepare<[string, string, number], Row>(`SELECT ${COLS} ${FROM} WHERE c.mega = ? AND c.phase = ? AND c.ts >= ? ORDER BY c.id`),
      latestOfPhase: sql.prepare<[string, string], Row>(`SELECT ${COLS} ${FROM} WHERE c.mega = ? AND c.phase = ? ORDER BY c.id DESC LIMIT 1`),
      latestOfInstance: sql.prepare<[string], Row>(`SELECT ${COLS} ${FROM} WHERE c.instance = ? ORDER BY c.id DESC LIMIT 1`),
      latestPerPhase: sql.prepare<[string, string], Row>(`SELECT ${COLS} ${FROM} WHERE c.id IN (SELECT max(id) FROM checkpoints WHERE mega = ? GROUP BY phase) AND c.mega = ?`),
      all: sql.prepare<[], Row>(`SELECT ${COLS} ${FROM} ORDER BY c.id`),
    };
  }

  /** Call inside the caller's write transaction. */
  async add(instance: string, now: number, c: NewCheckpoint): Promise<number> {
    const r = await this.q.insert.get(
      now,
      instance,
      c.mega ?? null,
      c.phase?.key ?? null,
      JSON.stringify(c.done),
      JSON.stringify(c.next),
      c.percent ?? null,
      JSON.stringify(c.files ?? []),
      c.note ?? null,
    );
    return Number((r as { id: number }).id);
  }

  async latestOfPhase(mega: string, phase: string): Promise<Checkpoint | null> {
    const r = await this.q.latestOfPhase.get(mega, phase);
    return r ? toCheckpoint(r) : null;
  }

  /** Every checkpoint of a phase from `since` (ms) on, oldest first. */
  async ofPhaseSince(mega: string, phase: string, since: number): Promise<Checkpoint[]> {
    return (await this.q.ofPhaseSince.all(mega, phase, since)).map(toCheckpoint);
  }

  async latestOfInstance(instance: string): Promise<Checkpoint | null> {
    const r = await this.q.latestOfInstance.get(instance);
    return r ? toCheckpoint(r) : null;
  }

  /** The latest checkpoint of every phase of a MEGA, by stored phase key (for the board). */
  async latestPerPhase(mega: string): Promise<Map<string, Checkpoint>> {
    return new Map((await this.q.latestPerPhase.all(mega, mega)).map((r) => [r.phase as string, toCheckpoint(r)]));
  }

  async all(): Promise<Checkpoint[]> {
    return (await this.q.all.all()).map(toCheckpoint);
  }
}

function toCheckpoint(r: Row): Checkpoint {
  return {
    id: r.id,
    at: iso(r.ts),
    by: r.instance,
    mega: r.mega,
    phase: r.phase === null ? null : phaseIdFromStore(r.phase, r.phase_kind ?? 'str'),
    done: JSON.parse(r.done) as string[],
    next: JSON.parse(r.next) as string[],
    percent: r.percent,
    files: JSON.parse(r.files) as string[],
    note: r.note,
  };
}
