import type { Store } from '../core/store.js';

/** Operation kinds that change the board, the plan and the MEGA views. */
const BOARD_KINDS = new Set(['plan', 'replan', 'claim', 'release', 'complete', 'checkpoint', 'resume']);

/** Which resource URIs a batch of new operations changes. */
export function changedUris(ops: readonly { kind: string; mega: string | null }[], subscribed: Iterable<string>): string[] {
  if (ops.length === 0) return [];
  const board = ops.some((o) => BOARD_KINDS.has(o.kind));
  const megas = new Set(ops.filter((o) => BOARD_KINDS.has(o.kind)).map((o) => o.mega));
  const memory = ops.some((o) => o.kind === 'memory');
  const out: string[] = [];
  for (const uri of subscribed) {
    if (uri === 'factory://operations') out.push(uri);
    else if (uri === 'factory://memory' ? memory : uri === 'factory://board' || uri === 'factory://plan' ? board : false) out.push(uri);
    else if (uri.startsWith('factory://mega/') && (megas.has(decodeURIComponent(uri.slice('factory://mega/'.length))) || megas.has(null))) out.push(uri);
  }
  return out;
}

/**
 * Sends resources/updated to a subscribed client. Every change worth telling is an operations-log
 * entry, written by this process or any other on the same database. The store's one
 * ChangeWatcher polls for commits while anyone listens; this watcher then reads the new entries
 * and maps them to the subscribed URIs. `check()` also runs at once after each tool call of its
 * own session.
 */
export class ResourceWatcher {
  private readonly subs = new Set<string>();
  private off: (() => void) | null = null;
  private seq = 0;

  constructor(
    private readonly storeOf: () => Store,
    private readonly notify: (uri: string) => Promise<void>,
  ) {}

  private get store(): Store {
    return this.storeOf();
  }

  /** The store was replaced (created on the first write): follow it, keeping the subscriptions. */
  moved(): void {
    this.stop();
    this.seq = 0;
    if (this.subs.size > 0) this.off = this.store.watch.on(() => void this.check().catch(() => undefined));
  }

  async subscribe(uri: string): Promise<void> {
    if (this.subs.size === 0) this.seq = await this.store.operations.lastSeq();
    this.subs.add(uri);
    this.off ??= this.store.watch.on(() => void this.check().catch(() => undefined));
  }

  unsubscribe(uri: string): void {
    this.subs.delete(uri);
    if (this.subs.size === 0) this.stop();
  }

  private checking: Promise<string[]> | null = null;

  /** Looks for new operations now (one look at a time: a look asked for during one waits for it); returns the URIs notified. */
  async check(): Promise<string[]> {
    while (this.checking) await this.checking.catch(() => undefined);
    this.checking = this.look();
    try {
      return await this.checking;
    } finally {
      this.checking = null;
    }
  }

  private async look(): Promise<string[]> {
    if (this.subs.size === 0 || this.store.closed) return [];
    const ops = await this.store.operations.kindsAfter(this.seq);
    if (ops.length === 0) return [];
    this.seq = (ops[ops.length - 1] as { seq: number }).seq;
    const uris = changedUris(ops, this.subs);
    for (const uri of uris) this.notify(uri).catch(() => this.unsubscribe(uri));
    return uris;
  }

  close(): void {
    this.subs.clear();
    this.stop();
  }

  private stop(): void {
    this.off?.();
    this.off = null;
  }
}
