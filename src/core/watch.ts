import type { Sql } from './sql.js';

/**
 * Notices database changes made by any process. On SQLite it polls `PRAGMA data_version` (which
 * moves when another connection commits) and the last operations seq (which moves on this
 * connection's own writes), only while someone listens; the timer never keeps the process alive.
 * On PostgreSQL the engine pushes a notification on every commit that logs an operation
 * (`sql.listen`), on whichever server it was made: no polling.
 */
export class ChangeWatcher {
  private readonly listeners = new Set<(seq: number) => void>();
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private lastVersion = -1;
  private lastSeq = -1;
  private reading: Promise<void> | null = null;
  private again = false;
  private readonly version;
  private readonly seq;

  constructor(
    private readonly sql: Sql,
    private readonly intervalMs = 200,
  ) {
    this.version = sql.dialect === 'sqlite' ? sql.prepare<[], { data_version: number }>('PRAGMA data_version') : null;
    this.seq = sql.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM operations');
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: (seq: number) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer && !this.unlisten) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private start(): void {
    void this.read().catch(() => undefined); // a database that went away: the next poke tells
    if (this.sql.listen) {
      const stop = this.sql.listen(() => this.poke());
      this.unlisten = async () => (await stop)();
      // PostgreSQL unreachable for LISTEN (restarting, out of connections): poll instead, as on SQLite.
      stop.catch(() => {
        if (this.listeners.size === 0 || this.timer) return;
        this.unlisten = null;
        this.poll();
      });
      return;
    }
    this.poll();
  }

  private poll(): void {
    this.timer = setInterval(() => this.poke(), this.intervalMs);
    this.timer.unref();
  }

  /** Checks now (call after a local write to notify without waiting for the next tick). */
  poke(): void {
    if (this.listeners.size === 0) return;
    if (this.reading) {
      this.again = true; // a change during a read is checked by another read after it
      return;
    }
    const before = [this.lastVersion, this.lastSeq];
    this.reading = this.read()
      .then(() => {
        if (before[0] !== this.lastVersion || before[1] !== this.lastSeq) for (const l of this.listeners) l(this.lastSeq);
      })
      .catch(() => {
        // the database closed under a pending read: nobody is left to tell
      })
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const off = this.unlisten;
    this.unlisten = null;
    if (off) void off().catch(() => undefined); // a listen that never connected has nothing to undo
  }

  private async read(): Promise<void> {
    this.lastVersion = this.version ? ((await this.version.get())?.data_version ?? 0) : 0;
    this.lastSeq = (await this.seq.get())?.seq ?? 0;
  }
}
