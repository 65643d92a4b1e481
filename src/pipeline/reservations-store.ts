import type { Sql } from '../core/sql.js';

/** A glob reserved by a claim that is open now (its phase has an owner), with who holds it. */
export interface LiveReservationRow {
  mega: string;
  phase: string;
  id_kind: string;
  name: string;
  glob: string;
  owner: string;
  agent: string | null;
  lease_expires_at: number | null;
}

/**
 * The SQL of file reservations (table `reservations`): the globs each claim reserves. A row counts
 * only while its phase is claimed, so a completion, a release or a stale release ends it without
 * a write here; adoption keeps the phase's rows for the adopter; a fresh claim resets them.
 * No rules (src/pipeline/reservations.ts has them); call writes inside the phases transaction.
 */
export class ReservationsStore {
  private readonly q;

  constructor(sql: Sql) {
    this.q = {
      live: sql.prepare<[], LiveReservationRow>(
        `SELECT r.mega, r.phase, p.id_kind, p.name, r.glob, p.owner, s.agent, p.lease_expires_at
         FROM reservations r JOIN phases p ON p.mega = r.mega AND p.id = r.phase
         LEFT JOIN sessions s ON s.instance = p.owner
         WHERE p.owner IS NOT NULL ORDER BY r.mega, p.ord, r.ord`,
      ),
      ofPhase: sql.prepare<[string, string], { glob: string }>('SELECT glob FROM reservations WHERE mega = ? AND phase = ? ORDER BY ord'),
      count: sql.prepare<[string, string], { n: number; top: number | null }>('SELECT count(*) AS n, max(ord) AS top FROM reservations WHERE mega = ? AND phase = ?'),
      insert: sql.prepare('INSERT INTO reservations (mega, phase, glob, ord, added_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING'),
      reset: sql.prepare('DELETE FROM reservations WHERE mega = ? AND phase = ?'),
      sweep: sql.prepare('DELETE FROM reservations WHERE NOT EXISTS (SELECT 1 FROM phases p WHERE p.mega = reservations.mega AND p.id = reservations.phase AND p.owner IS NOT NULL)'),
    };
  }

  /** Every glob of every open claim, with its owner and the owner's agent name. */
  async live(): Promise<LiveReservationRow[]> {
    return this.q.live.all();
  }

  /** The globs stored for a phase, in the order they were reserved. */
  async ofPhase(mega: string, key: string): Promise<string[]> {
    return (await this.q.ofPhase.all(mega, key)).map((r) => r.glob);
  }

  /** Adds globs to a phase's reservation (ones it holds already are kept as they are); rows of ended claims are dropped first. */
  async add(mega: string, key: string, globs: readonly string[], now: number): Promise<void> {
    await this.q.sweep.run();
    let ord = ((await this.q.count.get(mega, key))?.top ?? -1) + 1;
    for (const g of globs) if ((await this.q.insert.run(mega, key, g, ord, now)).changes === 1) ord++;
  }

  /** A fresh claim of the phase: what an earlier claim reserved is gone (one primary-key range; claims without files pay no more). */
  async reset(mega: string, key: string): Promise<void> {
    await this.q.reset.run(mega, key);
  }
}
