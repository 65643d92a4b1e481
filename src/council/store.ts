import { writeTx } from '../core/db.js';
import type { Sql } from '../core/sql.js';
import type { OperationsStore } from '../core/operations.js';
import { formatSources, isSelfReviewed, parseSources, type Decision, type GateCouncil, type Review, type ReviewSource, type Subject, type Verdict } from './domain.js';
import { redact } from '../core/secrets.js';
import { phaseKey } from '../core/ids.js';
import { iso } from '../core/time.js';

export interface CouncilRecord {
  id: number;
  created_at: string;
  instance: string | null;
  mega: string | null;
  phase: string | null;
  ticket: string | null;
  subject: Subject;
  sources: ReviewSource[];
  /** Every review came from the agent that asked for the council. */
  self_reviewed: boolean;
  reviews: Review[];
  average: number;
  verdict: Verdict;
  adjustments: Decision['adjustments'];
  report_markdown: string;
  comment_url: string | null;
  /** True while the report waits in the outbox for a Linear post. */
  post_pending: boolean;
}

interface Row {
  id: number;
  created_at: number;
  instance: string | null;
  mega: string | null;
  phase: string | null;
  ticket: string | null;
  title: string;
  subject: string;
  source: string;
  reviews: string;
  average: number;
  verdict: Verdict;
  adjustments: string;
  report: string;
  comment_url: string | null;
  pending: number;
}

interface GateRow {
  id: number;
  /** null: a council on the whole MEGA. */
  phase: string | null;
  verdict: Verdict;
  source: string;
  acked: number;
}

export interface OutboxItem {
  council: number;
  ticket: string;
  report: string;
  attempts: number;
}

/** Councils and their Linear outbox. Every write is one BEGIN IMMEDIATE transaction with its operations entry. */
export class CouncilsStore {
  private readonly q;

  constructor(
    private readonly sql: Sql,
    private readonly ops: OperationsStore,
  ) {
    const select = 'SELECT c.*, (o.council IS NOT NULL) AS pending FROM councils c LEFT JOIN council_outbox o ON o.council = c.id';
    const gateSelect = "SELECT id, phase, verdict, source, EXISTS (SELECT 1 FROM acks a WHERE a.kind = 'council' AND a.ref = CAST(councils.id AS TEXT)) AS acked FROM councils";
    this.q = {
      nextId: sql.prepare<[], { id: number }>('SELECT coalesce(max(id), 0) + 1 AS id FROM councils'),
      insert: sql.prepare(
        `INSERT INTO councils (id, created_at, instance, mega, phase, ticket, title, subject, source, reviews, average, verdict, adjustments, report)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
      ),
      get: sql.prepare<[number], Row>(`${select} WHERE c.id = ?`),
      list: sql.prepare<[number], Row>(`${select} ORDER BY c.id DESC LIMIT ?`),
      // The councils deciding a gate, oldest first, with whether a human acknowledged each.
      // One statement for both (the claim gate asks on every claim): the phase's own, or else its MEGA's.
      ofGate: sql.prepare<[string, string], GateRow>(`${gateSelect} WHERE mega = ? AND (phase = ? OR phase IS NULL) ORDER BY id`),
      lastOnPhase: sql.prepare<[string, string], Row>(`${select} WHERE c.mega = ? AND c.phase = ? ORDER BY c.id DESC LIMIT 1`),
      lastOnMega: sql.prepare<[string], Row>(`${select} WHERE c.mega = ? AND c.phase IS NULL ORDER BY c.id DESC LIMIT 1`),
      lastOnTitle: sql.prepare<[string, string | null], Row>(`${select} WHERE c.mega IS NULL AND c.title = ? AND c.ticket IS NOT DISTINCT FROM ? ORDER BY c.id DESC LIMIT 1`),
      enqueue: sql.prepare('INSERT INTO council_outbox (council, ticket, created_at) VALUES (?,?,?) ON CONFLICT DO NOTHING'),
      // Due: not being posted right now (locked_until) and past its backoff (next_attempt_at) unless forced.
      due: sql.prepare<[number, number, number], OutboxItem>(
        `SELECT o.council, o.ticket, c.report, o.attempts FROM council_outbox o JOIN councils c ON c.id = o.council
         WHERE o.locked_until <= ? AND o.next_attempt_at <= ? ORDER BY o.council LIMIT ?`,
      ),
      dueOne: sql.prepare<[number, number, number], OutboxItem>(
        `SELECT o.council, o.ticket, c.report, o.attempts FROM council_outbox o JOIN councils c ON c.id = o.council
         WHERE o.locked_until <= ? AND o.next_attempt_at <= ? AND o.council = ?`,
      ),
      lock: sql.prepare('UPDATE council_outbox SET locked_until = ? WHERE council = ?'),
      dequeue: sql.prepare('DELETE FROM council_outbox WHERE council = ?'),
      setUrl: sql.prepare('UPDATE councils SET comment_url = ? WHERE id = ?'),
      failed: sql.prepare('UPDATE council_outbox SET attempts = attempts + 1, last_error = ?, locked_until = 0, next_attempt_at = ? WHERE council = ?'),
      pending: sql.prepare<[], { n: number }>('SELECT count(*) AS n FROM council_outbox'),
    };
  }

  /**
   * Stores a decided council, its report (rendered with the new id) and, when it names a ticket
   * to post to, an outbox entry — all in one transaction, so a report is never lost.
   */
  record(
    instance: string | null,
    input: { subject: Subject; sources: ReviewSource[]; reviews: Review[]; decision: Decision; render: (id: number) => string; post: boolean },
    now: number,
  ): Promise<CouncilRecord> {
    const { subject, decision } = input;
    return writeTx(this.sql, async () => {
      const phase = subject.phase === undefined ? null : phaseKey(subject.phase);
      // The id is known before the insert (we hold the write lock), so the report that names it is written once.
      const id = ((await this.q.nextId.get()) as { id: number }).id;
      const report = redact(input.render(id));
      const source = formatSources(input.sources);
      const self = isSelfReviewed(input.sources);
      await this.q.insert.run(
        id,
        now,
        instance,
        subject.mega ?? null,
        phase,
        subject.ticket ?? null,
        subject.title,
        JSON.stringify(subject),
        source,
        redact(JSON.stringify(input.reviews)),
        decision.average,
        decision.verdict,
        JSON.stringify(decision.adjustments),
        report,
      );
      const queued = input.post && subject.ticket !== undefined;
      if (queued) await this.q.enqueue.run(id, subject.ticket, now);
      const target = subject.mega !== undefined ? `${subject.mega}${phase !== null ? `/${phase}` : ''}` : subject.title;
      await this.ops.append(now, {
        instance,
        kind: 'council',
        mega: subject.mega ?? null,
        phase,
        message: `council #${id} on ${target}: ${decision.verdict} (average ${decision.average.toFixed(2)}, reviews from ${source}${self ? ', self-reviewed' : ''})`,
        data: { council: id, verdict: decision.verdict, average: decision.average, scores: decision.scores, source, self_reviewed: self, ticket: subject.ticket ?? null },
      });
      return {
        id,
        created_at: iso(now),
        instance,
        mega: subject.mega ?? null,
        phase,
        ticket: subject.ticket ?? null,
        subject,
        sources: input.sources,
        self_reviewed: self,
        reviews: input.reviews,
        average: decision.average,
        verdict: decision.verdict,
        adjustments: decision.adjustments,
        report_markdown: report,
        comment_url: null,
        post_pending: queued,
      };
    });
  }

  async get(id: number): Promise<CouncilRecord | undefined> {
    const r = await this.q.get.get(id);
    return r ? toRecord(r) : undefined;
  }

  async recent(limit = 20): Promise<CouncilRecord[]> {
    return (await this.q.list.all(limit)).map(toRecord);
  }

  /** The councils that decide a phase's gate, oldest first: those on the phase, else those on its whole MEGA. */
  async gateCouncils(mega: string, phase: string): Promise<GateCouncil[]> {
    const both = await this.q.ofGate.all(mega, phase);
    const own = both.filter((r) => r.phase !== null);
    return (own.length ? own : both).map((r) => ({ id: r.id, verdict: r.verdict, sources: parseSources(r.source), acknowledged: r.acked === 1 }));
  }

  /** The latest council on the same subject: the same phase, the same whole MEGA, or (with neither) the same title and ticket. */
  async latestOnSubject(subject: Subject): Promise<CouncilRecord | undefined> {
    const r =
      subject.mega === undefined
        ? await this.q.lastOnTitle.get(subject.title, subject.ticket ?? null)
        : subject.phase === undefined
          ? await this.q.lastOnMega.get(subject.mega)
          : await this.q.lastOnPhase.get(subject.mega, phaseKey(subject.phase));
    return r ? toRecord(r) : undefined;
  }

  /**
   * Takes up to `limit` outbox entries due for a post and locks them for `lockMs`, so two
   * processes retrying at once never post one report twice. `force` ignores the retry backoff
   * (never the lock of a post in flight).
   */
  takeDue(now: number, opts: { limit: number; lockMs: number; force?: boolean; only?: number }): Promise<OutboxItem[]> {
    return writeTx(this.sql, async () => {
      const after = opts.force ? Number.MAX_SAFE_INTEGER : now;
      const items = opts.only !== undefined ? await this.q.dueOne.all(now, after, opts.only) : await this.q.due.all(now, after, opts.limit);
      for (const i of items) await this.q.lock.run(now + opts.lockMs, i.council);
      return items;
    });
  }

  async markPosted(instance: string | null, council: number, url: string, now: number): Promise<void> {
    await writeTx(this.sql, async () => {
      await this.q.dequeue.run(council);
      await this.q.setUrl.run(url, council);
      await this.ops.append(now, { instance, kind: 'council', message: `council #${council} report posted to Linear: ${url}`, data: { council, comment_url: url } });
    });
  }

  /** A failed post stays in the outbox; it is retried after `retryAfterMs`. */
  async markFailed(council: number, error: string, now: number, retryAfterMs: number): Promise<void> {
    await writeTx(this.sql, async () => {
      await this.q.failed.run(error.slice(0, 500), now + retryAfterMs, council);
    });
  }

  async pendingPosts(): Promise<number> {
    return (await this.q.pending.get())?.n ?? 0;
  }
}

function toRecord(r: Row): CouncilRecord {
  return {
    id: r.id,
    created_at: iso(r.created_at),
    instance: r.instance,
    mega: r.mega,
    phase: r.phase,
    ticket: r.ticket,
    subject: JSON.parse(r.subject) as Subject,
    sources: parseSources(r.source),
    self_reviewed: isSelfReviewed(parseSources(r.source)),
    reviews: JSON.parse(r.reviews) as Review[],
    average: r.average,
    verdict: r.verdict,
    adjustments: JSON.parse(r.adjustments) as Decision['adjustments'],
    report_markdown: r.report,
    comment_url: r.comment_url,
    post_pending: r.pending === 1,
  };
}
