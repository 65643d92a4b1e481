import type { Sql } from '../core/sql.js';
import { writeTx } from '../core/db.js';
import type { OperationsStore } from '../core/operations.js';
import type { PhasesService, TokenInput, TokenRefusal } from '../phases/service.js';
import { phaseKey } from '../core/ids.js';
import { iso } from '../core/time.js';
import type { Intent, Level } from './rules.js';
import type { Classification, Reason } from './classifier.js';

export interface StoredClassification {
  id: number;
  mega: string;
  phase: string;
  instance: string | null;
  at: string;
  level: Level;
  intent: string | null;
  base: string | null;
  head: string | null;
  stats: Classification['stats'];
  /** Absent on classifications stored before the size tiers. */
  size: Classification['size'] | null;
  reasons: Reason[];
}

interface Row {
  id: number;
  mega: string;
  phase: string;
  instance: string | null;
  ts: number;
  level: Level;
  intent: string | null;
  base: string | null;
  head: string | null;
  stats: string;
  reasons: string;
}

export type RecordResult = { stored: true; id: number } | { stored: false; reason: TokenRefusal; owner?: string; message: string };

/** Ship/Show/Ask classifications kept with the phase they were made for (for check_dod and the dashboard). */
export class ChangesStore {
  private readonly q;

  constructor(
    private readonly sql: Sql,
    private readonly ops: OperationsStore,
    private readonly phases: PhasesService,
  ) {
    this.q = {
      insert: sql.prepare<unknown[], { id: number | string }>(
        'INSERT INTO classifications (mega, phase, instance, ts, level, intent, base, head, stats, reasons) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id',
      ),
      latest: sql.prepare<[string, string], Row>('SELECT * FROM classifications WHERE mega = ? AND phase = ? ORDER BY id DESC LIMIT 1'),
      latestOfHead: sql.prepare<[string, string, string], Row>('SELECT * FROM classifications WHERE mega = ? AND phase = ? AND head = ? ORDER BY id DESC LIMIT 1'),
      latestAsk: sql.prepare<[string, string], Row>("SELECT * FROM classifications WHERE mega = ? AND phase = ? AND level = 'ask' ORDER BY id DESC LIMIT 1"),
      recent: sql.prepare<[number], Row>('SELECT * FROM classifications ORDER BY id DESC LIMIT ?'),
      get: sql.prepare<[number], Row>('SELECT * FROM classifications WHERE id = ?'),
      ofMega: sql.prepare<[string], Row>(
        'SELECT c.* FROM classifications c WHERE c.mega = ? AND c.id = (SELECT max(id) FROM classifications d WHERE d.mega = c.mega AND d.phase = c.phase) ORDER BY c.id',
      ),
    };
  }

  /** Stores a classification with a held phase, checking the fencing token, and logs `classify`; one transaction. */
  record(
    instance: string,
    at: TokenInput,
    c: Classification,
    meta: { intent?: Intent | undefined; base?: string | null | undefined; head?: string | null | undefined },
    now: number,
  ): Promise<RecordResult> {
    return writeTx(this.sql, async (): Promise<RecordResult> => {
      const held = await this.phases.verifyToken(at, instance);
      if (!held.ok) return { stored: false, reason: held.reason, ...(held.owner ? { owner: held.owner } : {}), message: held.message };
      const phase = phaseKey(at.phase);
      const row = await this.q.insert.get(
        at.mega,
        phase,
        instance,
        now,
        c.level,
        meta.intent ?? null,
        meta.base ?? null,
        meta.head ?? null,
        JSON.stringify({ ...c.stats, size: c.size }),
        JSON.stringify(c.reasons),
      );
      const id = Number((row as { id: number | string }).id); // an engine may hand a 64-bit id back as text
      await this.ops.append(now, {
        instance,
        kind: 'classify',
        mega: at.mega,
        phase,
        message: `${instance} classified ${at.mega}/${phase} as ${c.level.toUpperCase()} (${c.reasons.map((r) => r.rule).join(', ') || 'no rules fired'})`,
        data: { id, level: c.level, action: c.action, rules: c.reasons.map((r) => r.rule), stats: c.stats, intent: meta.intent ?? null, base: meta.base ?? null, head: meta.head ?? null },
      });
      return { stored: true, id };
    });
  }

  /** The latest classification of one phase, or null. */
  async latest(mega: string, phase: string | number): Promise<StoredClassification | null> {
    const r = await this.q.latest.get(mega, phaseKey(phase));
    return r ? toStored(r) : null;
  }
  /** The latest classification of one phase made of one head commit (merge_phase), or null. */
  async latestOfHead(mega: string, phase: string | number, head: string): Promise<StoredClassification | null> {
    const r = await this.q.latestOfHead.get(mega, phaseKey(phase), head);
    return r ? toStored(r) : null;
  }
  /** The latest Ask classification of one phase, or null: what a human must acknowledge, whatever was classified after it. */
  async latestAsk(mega: string, phase: string | number): Promise<StoredClassification | null> {
    const r = await this.q.latestAsk.get(mega, phaseKey(phase));
    return r ? toStored(r) : null;
  }

  /** The newest classifications across MEGAs (dashboard). */
  async recent(limit: number): Promise<StoredClassification[]> {
    return (await this.q.recent.all(limit)).map(toStored);
  }

  async get(id: number): Promise<StoredClassification | null> {
    const r = await this.q.get.get(id);
    return r ? toStored(r) : null;
  }

  /** The latest classification of each phase of a MEGA. */
  async ofMega(mega: string): Promise<StoredClassification[]> {
    return (await this.q.ofMega.all(mega)).map(toStored);
  }
}

function toStored(r: Row): StoredClassification {
  // The size rides in the stats JSON (no column of its own).
  const { size, ...stats } = JSON.parse(r.stats) as Classification['stats'] & { size?: Classification['size'] };
  return {
    id: r.id,
    mega: r.mega,
    phase: r.phase,
    instance: r.instance,
    at: iso(r.ts),
    level: r.level,
    intent: r.intent,
    base: r.base,
    head: r.head,
    stats,
    size: size ?? null,
    reasons: JSON.parse(r.reasons) as Reason[],
  };
}
