import type { Sql } from '../core/sql.js';

/** Token and cost usage reported by sessions (record_usage); the daily cost cap sums it. */
export class UsageStore {
  private readonly q;

  constructor(sql: Sql) {
    this.q = {
      insert: sql.prepare('INSERT INTO usage (ts, instance, tokens, cost_usd, model) VALUES (?,?,?,?,?)'),
      since: sql.prepare<[number], { cost: number | null }>('SELECT sum(cost_usd) AS cost FROM usage WHERE ts >= ?'),
      ofInstance: sql.prepare<[string], { cost: number | null; tokens: number | null }>('SELECT sum(cost_usd) AS cost, sum(tokens) AS tokens FROM usage WHERE instance = ?'),
    };
  }

  /** Call inside the caller's write transaction. */
  async record(instance: string, now: number, tokens: number, costUsd: number, model: string | null): Promise<void> {
    await this.q.insert.run(now, instance, tokens, costUsd, model);
  }

  async costSince(ts: number): Promise<number> {
    return (await this.q.since.get(ts))?.cost ?? 0;
  }

  async ofInstance(instance: string): Promise<{ cost_usd: number; tokens: number }> {
    const r = await this.q.ofInstance.get(instance);
    return { cost_usd: r?.cost ?? 0, tokens: r?.tokens ?? 0 };
  }
}
