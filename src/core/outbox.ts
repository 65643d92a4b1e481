import type { Sql } from './sql.js';
import { writeTx } from './db.js';

export interface OutboxItem<T> {
  key: string;
  payload: T;
  /** Bumped by every put: a delivery finishing on an older version leaves the newer one queued. */
  version: number;
  attempts: number;
  last_error: string | null;
}

interface Row {
  key: string;
  payload: string;
  version: number;
  attempts: number;
  last_error: string | null;
}

/** A minute per failed attempt, at most an hour; a Retry-After the remote gave wins. */
export function retryDelayMs(attempts: number, retryAfterMs?: number | null): number {
  return retryAfterMs ?? Math.min(3600_000, 60_000 * (attempts + 1));
}

/**
 * Deliveries to the outside world that must not be lost and must not block the caller: put in
 * the same transaction as the decision they report, taken with a lock (two processes never
 * deliver one item at once), removed when delivered, kept with a backoff when not. One item per
 * (kind, key): a newer put replaces what is still waiting.
 */
export class OutboxStore {
  private readonly q;

  constructor(private readonly sql: Sql) {
    this.q = {
      get: sql.prepare<[string, string], Row>('SELECT key, payload, version, attempts, last_error FROM outbox WHERE kind = ? AND key = ?'),
      put: sql.prepare(
        `INSERT INTO outbox (kind, key, payload, created_at) VALUES (?,?,?,?)
         ON CONFLICT (kind, key) DO UPDATE SET payload = excluded.payload, version = outbox.version + 1, attempts = 0, last_error = NULL, next_attempt_at = 0`,
      ),
      due: sql.prepare<[string, number, number, number], Row>(
        'SELECT key, payload, version, attempts, last_error FROM outbox WHERE kind = ? AND locked_until <= ? AND next_attempt_at <= ? ORDER BY created_at, key LIMIT ?',
      ),
      lock: sql.prepare('UPDATE outbox SET locked_until = ? WHERE kind = ? AND key = ?'),
      done: sql.prepare('DELETE FROM outbox WHERE kind = ? AND key = ? AND version = ?'),
      failed: sql.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ?, locked_until = 0, next_attempt_at = ? WHERE kind = ? AND key = ? AND version = ?'),
      unlock: sql.prepare('UPDATE outbox SET locked_until = 0 WHERE kind = ? AND key = ?'),
      pending: sql.prepare<[string], { n: number }>('SELECT count(*) AS n FROM outbox WHERE kind = ?'),
      list: sql.prepare<[string], Row>('SELECT key, payload, version, attempts, last_error FROM outbox WHERE kind = ? ORDER BY created_at, key'),
    };
  }

  /** Queues an item, merged with the one still waiting under the same key. Call inside a write transaction or alone. */
  async put<T>(kind: string, key: string, merge: (waiting: T | null) => T, now: number): Promise<void> {
    await writeTx(this.sql, async () => {
      const old = await this.q.get.get(kind, key);
      await this.q.put.run(kind, key, JSON.stringify(merge(old ? (JSON.parse(old.payload) as T) : null)), now);
    });
  }

  /** Up to `limit` items due (past their backoff unless `force`, never one in flight), locked for `lockMs`. */
  async takeDue<T>(kind: string, now: number, opts: { limit: number; lockMs: number; force?: boolean }): Promise<OutboxItem<T>[]> {
    return writeTx(this.sql, async () => {
      const rows = await this.q.due.all(kind, now, opts.force ? Number.MAX_SAFE_INTEGER : now, opts.limit);
      for (const r of rows) await this.q.lock.run(now + opts.lockMs, kind, r.key);
      return rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as T }));
    });
  }

  /** Delivered: removed, unless a newer version was put meanwhile (then only unlocked). */
  async done(kind: string, item: { key: string; version: number }): Promise<void> {
    await writeTx(this.sql, async () => {
      if ((await this.q.done.run(kind, item.key, item.version)).changes === 0) await this.q.unlock.run(kind, item.key);
    });
  }

  /** Not delivered: kept, retried after `retryAfterMs`. */
  async failed(kind: string, item: { key: string; version: number }, error: string, now: number, retryAfterMs: number): Promise<void> {
    await writeTx(this.sql, async () => {
      if ((await this.q.failed.run(error.slice(0, 500), now + retryAfterMs, kind, item.key, item.version)).changes === 0) await this.q.unlock.run(kind, item.key);
    });
  }

  async pending(kind: string): Promise<number> {
    return (await this.q.pending.get(kind))?.n ?? 0;
  }

  async list<T>(kind: string): Promise<OutboxItem<T>[]> {
    return (await this.q.list.all(kind)).map((r) => ({ ...r, payload: JSON.parse(r.payload) as T }));
  }
}

/**
 * Delivers the due items of `kind` (all with `force`) one by one: `deliver` resolving removes the
 * item, throwing keeps it with a backoff (`failure` turns the error into a message and the wait the
 * remote asked for). Up to three rounds: an item put again while it was in flight waits, unlocked,
 * for the next; only the first round forces (a failed item waits for its backoff).
 */
export async function drainOutbox<T, R>(
  outbox: OutboxStore,
  kind: string,
  clock: () => number,
  opts: { limit?: number; force?: boolean; lockMs: number },
  deliver: (item: OutboxItem<T>) => Promise<R>,
  failure: (e: unknown) => { message: string; retryAfterMs?: number | null },
): Promise<{ delivered: { key: string; result: R }[]; failed: { key: string; message: string }[] }> {
  const out: { delivered: { key: string; result: R }[]; failed: { key: string; message: string }[] } = { delivered: [], failed: [] };
  for (let round = 0; round < 3; round++) {
    const items = await outbox.takeDue<T>(kind, clock(), { limit: opts.limit ?? 50, lockMs: opts.lockMs, force: opts.force === true && round === 0 });
    if (!items.length) break;
    for (const item of items) {
      try {
        const result = await deliver(item);
        await outbox.done(kind, item);
        out.delivered.push({ key: item.key, result });
      } catch (e) {
        const f = failure(e);
        await outbox.failed(kind, item, f.message, clock(), retryDelayMs(item.attempts, f.retryAfterMs));
        out.failed.push({ key: item.key, message: f.message });
      }
    }
  }
  return out;
}
