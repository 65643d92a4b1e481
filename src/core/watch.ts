import type { Db } from './db.js';

/**
 * Notices database changes made by any process: `PRAGMA data_version` moves when another
 * connection commits, and the last operations seq moves on this connection's own writes.
 * Polls only while someone listens; the timer never keeps the process alive.
 */
export class ChangeWatcher {
  private readonly listeners = new Set<(seq: number) => void>();
  private timer: NodeJS.Timeout | null = null;
  private lastVersion = -1;
  private lastSeq = -1;
  private readonly version;
  private readonly seq;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 200,
  ) {
    this.version = db.prepare<[], { data_version: number }>('PRAGMA data_version');
    this.seq = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM operations');
  }

  /** Subscribes; returns the unsubscribe function. */
  on(listener: (seq: number) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.read();
      this.timer = setInterval(() => this.poke(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Checks now (call after a local write to notify without waiting for the next tick). */
  poke(): void {
    if (this.listeners.size === 0 || !this.db.open) return;
    const before = [this.lastVersion, this.lastSeq];
    this.read();
    if (before[0] !== this.lastVersion || before[1] !== this.lastSeq) for (const l of this.listeners) l(this.lastSeq);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private read(): void {
    this.lastVersion = this.version.get()?.data_version ?? 0;
    this.lastSeq = this.seq.get()?.seq ?? 0;
  }
}
