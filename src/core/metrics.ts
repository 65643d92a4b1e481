import type { Sql } from './sql.js';
import { isoDay } from './time.js';

const DAY = 86_400_000;

export interface DayMetrics {
  day: string;
  phases: number;
  points: number;
  councils: number;
  councils_passed: number;
}

/** Throughput figures for the dashboard and /api/metrics. */
export class MetricsStore {
  private readonly perDay;
  private readonly totalsQ;
  private readonly councilsPerDay;
  private readonly councilsQ;

  constructor(sql: Sql) {
    this.perDay = sql.prepare<[number], { day: number; phases: number; points: number }>(
      `SELECT (completed_at / ${DAY}) * ${DAY} AS day, count(*) AS phases, coalesce(sum(points), 0) AS points
       FROM phases WHERE completed_at >= ? GROUP BY day ORDER BY day`,
    );
    this.councilsPerDay = sql.prepare<[number], { day: number; n: number; passed: number }>(
      `SELECT (created_at / ${DAY}) * ${DAY} AS day, count(*) AS n, sum(CASE WHEN verdict != 'reject' THEN 1 ELSE 0 END) AS passed FROM councils WHERE created_at >= ? GROUP BY day`,
    );
    this.councilsQ = sql.prepare<[], { n: number; passed: number | null }>("SELECT count(*) AS n, sum(CASE WHEN verdict != 'reject' THEN 1 ELSE 0 END) AS passed FROM councils");
    this.totalsQ = sql.prepare<[], { phases: number; done: number; points_done: number; points_total: number }>(
      `SELECT count(*) AS phases, count(completed_at) AS done, coalesce(sum(points), 0) AS points_total,
              coalesce(sum(CASE WHEN completed_at IS NOT NULL THEN points END), 0) AS points_done FROM phases`,
    );
  }

  /** Phases and story points completed per UTC day, for the `days` days up to `now`, zero-filled. */
  async daily(now: number, days: number): Promise<DayMetrics[]> {
    const start = Math.floor(now / DAY) * DAY - (days - 1) * DAY;
    const byDay = new Map((await this.perDay.all(start)).map((r) => [r.day, r]));
    const councils = new Map((await this.councilsPerDay.all(start)).map((r) => [r.day, r]));
    return Array.from({ length: days }, (_, i) => {
      const day = start + i * DAY;
      const r = byDay.get(day);
      const c = councils.get(day);
      return { day: isoDay(day), phases: r?.phases ?? 0, points: r?.points ?? 0, councils: c?.n ?? 0, councils_passed: c?.passed ?? 0 };
    });
  }

  /** Councils decided so far, and how many did not reject. */
  async councils(): Promise<{ n: number; passed: number }> {
    const r = await this.councilsQ.get();
    return { n: r?.n ?? 0, passed: r?.passed ?? 0 };
  }

  async totals() {
    return (await this.totalsQ.get()) ?? { phases: 0, done: 0, points_done: 0, points_total: 0 };
  }
}
