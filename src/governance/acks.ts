import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { writeTx } from '../core/db.js';
import type { Sql } from '../core/sql.js';
import type { OperationsStore } from '../core/operations.js';
import { iso } from '../core/time.js';

export type AckKind = 'council' | 'change';

/** How a presented ack token compares with the enrolled one. */
export type AckTokenCheck = 'ok' | 'not_enrolled' | 'mismatch';

const hashToken = (token: string, salt: Buffer) => scryptSync(token, salt, 32);

export interface Ack {
  kind: AckKind;
  ref: string;
  note: string | null;
  at: string;
}

/**
 * The human gate: a person acknowledges an Ask change or overrides a rejected council (from the
 * dashboard, with the server token). One acknowledgement per item; each is logged.
 */
export class AcksStore {
  private readonly q;

  constructor(
    private readonly sql: Sql,
    private readonly ops: OperationsStore,
  ) {
    this.q = {
      insert: sql.prepare('INSERT INTO acks (kind, ref, note, at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING'),
      get: sql.prepare<[string, string], { kind: AckKind; ref: string; note: string | null; at: number }>('SELECT * FROM acks WHERE kind = ? AND ref = ?'),
      verifier: sql.prepare<[], { verifier: string; set_at: number }>('SELECT verifier, set_at FROM ack_verifier WHERE id = 1'),
      enroll: sql.prepare('INSERT INTO ack_verifier (id, verifier, set_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING'),
    };
  }

  /**
   * Enrolls the human's ack token (a salted scrypt hash, never the token) unless one is enrolled
   * already: the first enrollment wins, so an agent that later starts a server or runs the CLI with
   * a token of its own choosing cannot replace it. Logged.
   */
  enroll(token: string, now: number): Promise<AckTokenCheck | 'enrolled'> {
    return writeTx(this.sql, async () => {
      const had = await this.check(token);
      if (had !== 'not_enrolled') return had;
      const salt = randomBytes(16);
      await this.q.enroll.run(`scrypt:${salt.toString('base64')}:${hashToken(token, salt).toString('base64')}`, now);
      await this.ops.append(now, { kind: 'ack', message: 'the human ack token was enrolled (a salted hash is kept; acknowledgements now need that token)', data: { enrolled: true } });
      return 'enrolled';
    });
  }

  /** Compares `token` with the enrolled one in constant time. */
  async check(token: string): Promise<AckTokenCheck> {
    const row = await this.q.verifier.get();
    if (!row) return 'not_enrolled';
    const [, salt, hash] = row.verifier.split(':');
    const want = Buffer.from(hash ?? '', 'base64');
    const got = hashToken(token, Buffer.from(salt ?? '', 'base64'));
    return want.length === got.length && timingSafeEqual(want, got) ? 'ok' : 'mismatch';
  }

  async enrolledAt(): Promise<number | null> {
    return (await this.q.verifier.get())?.set_at ?? null;
  }

  ack(kind: AckKind, ref: string, note: string | null, now: number, describe: string): Promise<{ acknowledged: boolean; already: boolean }> {
    return writeTx(this.sql, async () => {
      const r = await this.q.insert.run(kind, ref, note, now);
      if (r.changes === 0) return { acknowledged: true, already: true };
      await this.ops.append(now, { kind: 'ack', message: `a human acknowledged ${describe}${note ? `: ${note}` : ''}`, data: { kind, ref } });
      return { acknowledged: true, already: false };
    });
  }

  async get(kind: AckKind, ref: string): Promise<Ack | undefined> {
    const r = await this.q.get.get(kind, ref);
    return r ? { ...r, at: iso(r.at) } : undefined;
  }
}
