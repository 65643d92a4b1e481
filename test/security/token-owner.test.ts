import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Finding 9 of issue 12: a claim token was a bearer token — session B completed session A's
// phase with A's token and was recorded as the finisher. A token now works only in the session
// holding the claim; adoption goes through session_start {resume}.

const open: StdioAgent[] = [];
let dir = '';
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close().catch(() => {})));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function spawn(db: string, name: string): Promise<StdioAgent> {
  const p = await stdioAgent(db, { name, cwd: path.dirname(db) });
  open.push(p);
  return p;
}

/** Everything a token path could write: the board, the operations log, checkpoints, classifications. */
function written(db: string): unknown {
  const d = new Database(db, { readonly: true });
  try {
    return {
      phases: d.prepare('SELECT mega, id, owner, token, epoch, lease_expires_at, completed_at, completed_by FROM phases ORDER BY mega, id').all(),
      operations: d.prepare('SELECT count(*) AS n, max(seq) AS last FROM operations').get(),
      checkpoints: d.prepare('SELECT count(*) AS n FROM checkpoints').get(),
      classifications: d.prepare('SELECT count(*) AS n FROM classifications').get(),
    };
  } finally {
    d.close();
  }
}

describe('a claim token is accepted only from the session that holds the claim', () => {
  it("session B using A's token on every token path gets not_owner and writes nothing", async () => {
    dir = tempDir('factory-owner-');
    const db = path.join(dir, 'factory.db');
    const a = await spawn(db, 'agent-a');
    const b = await spawn(db, 'agent-b');
    const sa = await a.call<{ instance: string }>('session_start', { agent: 'a' });
    const sb = await b.call<{ instance: string }>('session_start', { agent: 'b' });
    await a.call('plan_mega', {
      key: 'OWN-1',
      title: 'Owners',
      phases: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
      ],
    });
    const claim = await a.call<{ claimed: boolean; token: string }>('claim_phase', { mega: 'OWN-1', phase: 1 });
    expect(claim.claimed).toBe(true);
    const token = claim.token;
    const at = { mega: 'OWN-1', phase: 1, token };
    await b.call('board', {}); // B's own session writes (its start) are done before the snapshot
    const before = written(db);

    const attempts: [string, Record<string, unknown>, string][] = [
      ['heartbeat', at, 'ok'],
      ['checkpoint', { ...at, progress: { done: ['stole it'], next: [] } }, 'saved'],
      ['classify_change', { ...at, files: [{ path: 'docs/readme.md', additions: 1, deletions: 0 }] }, 'stored'],
      ['release_phase', { ...at, reason: 'mine now' }, 'released'],
      ['complete_phase', at, 'completed'],
      ['complete_phase', { ...at, chain: true }, 'completed'],
    ];
    for (const [tool, args, flag] of attempts) {
      const r = await b.call<Record<string, unknown>>(tool, args);
      expect(r[flag], tool).toBe(false);
      expect(r.reason, tool).toBe('not_owner');
      if (tool !== 'classify_change') {
        expect(r.owner, tool).toBe(sa.instance);
        expect(r.message, tool).toContain(sa.instance);
        expect(r.message, tool).toContain('resume');
      }
    }
    expect(written(db)).toEqual(before);

    // The owner's token still works for the owner, and the finisher is the owner.
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: true });
    // A retried completion by B with the spent token is not "already completed by this token".
    expect(await b.call('complete_phase', at)).toMatchObject({ completed: false, reason: 'not_claimed' });
    const board = await b.call<{ megas: { phases: { completed_by: string | null }[] }[] }>('board', {});
    expect(board.megas[0]?.phases[0]?.completed_by).toBe(sa.instance);
    expect(sb.instance).not.toBe(sa.instance);
  });
});
