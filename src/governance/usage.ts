import type { Db } from '../core/db.js';

/** Token and cost usage reported by sessions (record_usage); the daily cost cap sums it. */
export class UsageStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare('INSERT INTO usage (ts, instance, tokens, cost_usd, model) VALUES (?,?,?,?,?)'),
      since: db.prepare<[number], { cost: number | null }>('SELECT sum(cost_usd) AS cost FROM usage WHERE ts >= ?'),
      ofInstance: db.prepare<[string], { cost: number | null; tokens: number | null }>('SELECT sum(cost_usd) AS cost, sum(tokens) AS tokens FROM usage WHERE instance = ?'),
    };
  }

  /** Call inside the caller's write transaction. */
  record(instance: string, now: number, tokens: number, costUsd: number, model: string | null): void {
    this.q.insert.run(now, instance, tokens, costUsd, model);
  }

  costSince(ts: number): number {
    return this.q.since.get(ts)?.cost ?? 0;
  }

  ofInstance(instance: string): { cost_usd: number; tokens: number } {
    const r = this.q.ofInstance.get(instance);
    return { cost_usd: r?.cost ?? 0, tokens: r?.tokens ?? 0 };
  }
}
