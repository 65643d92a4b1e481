import type { Db } from '../core/db.js';
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
    private readonly db: Db,
    private readonly ops: OperationsStore,
    private readonly phases: PhasesService,
  ) {
    this.q = {
      insert: db.prepare('INSERT INTO classifications (mega, phase, instance, ts, level, intent, base, head, stats, reasons) VALUES (?,?,?,?,?,?,?,?,?,?)'),
      latest: db.prepare<[string, string], Row>('SELECT * FROM classifications WHERE mega = ? AND phase = ? ORDER BY id DESC LIMIT 1'),
      latestOfHead: db.prepare<[string, string, string], Row>('SELECT * FROM classifications WHERE mega = ? AND phase = ? AND head = ? ORDER BY id DESC LIMIT 1'),
      latestAsk: db.prepare<[string, string], Row>("SELECT * FROM classifications WHERE mega = ? AND phase = ? AND level = 'ask' ORDER BY id DESC LIMIT 1"),
      recent: db.prepare<[number], Row>('SELECT * FROM classifications ORDER BY id DESC LIMIT ?'),
      get: db.prepare<[number], Row>('SELECT * FROM classifications WHERE id = ?'),
      ofMega: db.prepare<[string], Row>(
        'SELECT c.* FROM classifications c WHERE c.mega = ? AND c.id = (SELECT max(id) FROM classifications d WHERE d.mega = c.mega AND d.phase = c.phase) ORDER BY c.id',
      ),
    };
  }

  /** Stores a classification with a held phase, checking the fencing token, and logs `classify`; one transaction. */
  record(instance: string, at: TokenInput, c: Classification, meta: { intent?: Intent | undefined; base?: string | null | undefined; head?: string | null | undefined }, now: number): RecordResult {
    return writeTx(this.db, () => {
      const held = this.phases.verifyToken(at, instance);
      if (!held.ok) return { stored: false, reason: held.reason, ...(held.owner ? { owner: held.owner } : {}), message: held.message };
      const phase = phaseKey(at.phase);
      const id = Number(
        this.q.insert.run(at.mega, phase, instance, now, c.level, meta.intent ?? null, meta.base ?? null, meta.head ?? null, JSON.stringify({ ...c.stats, size: c.size }), JSON.stringify(c.reasons))
          .lastInsertRowid,
      );
      this.ops.append(now, {
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
  latest(mega: string, phase: string | number): StoredClassification | null {
    const r = this.q.latest.get(mega, phaseKey(phase));
    return r ? toStored(r) : null;
  }
  /** The latest classification of one phase made of one head commit (merge_phase), or null. */
  latestOfHead(mega: string, phase: string | number, head: string): StoredClassification | null {
    const r = this.q.latestOfHead.get(mega, phaseKey(phase), head);
    return r ? toStored(r) : null;
  }
  /** The latest Ask classification of one phase, or null: what a human must acknowledge, whatever was classified after it. */
  latestAsk(mega: string, phase: string | number): StoredClassification | null {
    const r = this.q.latestAsk.get(mega, phaseKey(phase));
    return r ? toStored(r) : null;
  }

  /** The newest classifications across MEGAs (dashboard). */
  recent(limit: number): StoredClassification[] {
    return this.q.recent.all(limit).map(toStored);
  }

  get(id: number): StoredClassification | null {
    const r = this.q.get.get(id);
    return r ? toStored(r) : null;
  }

  /** The latest classification of each phase of a MEGA. */
  ofMega(mega: string): StoredClassification[] {
    return this.q.ofMega.all(mega).map(toStored);
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
