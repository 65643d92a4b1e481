import Database from 'better-sqlite3';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/**
 * The floor for the claim race: a low-level SDK Server with one tool, `claim_phase {mega}`, that
 * takes the next ready phase in one BEGIN IMMEDIATE … UPDATE … RETURNING … COMMIT on a table
 * shaped like factory-mcp's (same key, same partial ready index, a fencing epoch and a lease
 * column), with the same settings (WAL, synchronous=NORMAL, 1 KiB pages) and the same short
 * write-lock backoff, so the ratio measures what factory-mcp adds: no log, no sessions, no gates.
 */
export const BARE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS phases (
    mega TEXT NOT NULL, id TEXT NOT NULL, ord INTEGER NOT NULL, name TEXT NOT NULL,
    owner TEXT, token TEXT, epoch INTEGER NOT NULL DEFAULT 0, unmet INTEGER NOT NULL DEFAULT 0,
    claimed_at INTEGER, lease_seconds INTEGER, lease_expires_at INTEGER, completed_at INTEGER,
    PRIMARY KEY (mega, id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS phases_lease ON phases(lease_expires_at) WHERE owner IS NOT NULL;
  CREATE INDEX IF NOT EXISTS phases_ready ON phases(mega, ord) WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0;
`;

/** A new bare database with the phases of one MEGA, all ready. */
export function seedBare(file: string, mega: string, phases: number): void {
  const db = new Database(file);
  db.pragma('page_size = 1024');
  db.pragma('journal_mode = WAL');
  db.exec(BARE_SCHEMA);
  const insert = db.prepare('INSERT INTO phases (mega, id, ord, name) VALUES (?,?,?,?)');
  db.transaction(() => {
    for (let i = 1; i <= phases; i++) insert.run(mega, String(i), i, `p${i}`);
  })();
  db.close();
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function buildBareServer(file: string): Server {
  const db = new Database(file);
  db.pragma('busy_timeout = 0');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const claim = db.prepare<[string, string, number, number, string], { id: string; epoch: number }>(
    `UPDATE phases SET owner = ?, token = ?, epoch = epoch + 1, claimed_at = ?, lease_seconds = 900, lease_expires_at = ?
     WHERE (mega, id) = (SELECT mega, id FROM phases WHERE mega = ? AND owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY ord LIMIT 1)
     RETURNING id, epoch`,
  );
  const me = `bare-${process.pid}`;
  let n = 0;
  const server = new Server({ name: 'bare-claim', version: '0.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: 'claim_phase', description: 'claims the next ready phase', inputSchema: { type: 'object' }, outputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, (req) => {
    const mega = String((req.params.arguments as { mega?: unknown } | undefined)?.mega ?? '');
    // The same write-lock wait as factory-mcp's writeTx: retry after 50 µs, doubling with jitter to 4 ms.
    for (let backoffUs = 50; ; backoffUs = Math.min(backoffUs * 2, 4000)) {
      try {
        begin.run();
        break;
      } catch (e) {
        if (!String((e as { code?: string }).code).startsWith('SQLITE_BUSY')) throw e;
        Atomics.wait(sleeper, 0, 0, (backoffUs * (0.5 + Math.random())) / 1000);
      }
    }
    let row: { id: string; epoch: number } | undefined;
    try {
      const now = Date.now();
      row = claim.get(me, `${me}-${++n}`, now, now + 900_000, mega);
      commit.run();
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw e;
    }
    const out = row ? { claimed: true, phase: { mega, id: Number(row.id) }, token: `${me}-${n}` } : { claimed: false };
    return { structuredContent: out, content: [{ type: 'text', text: JSON.stringify(out) }] };
  });
  return server;
}

// `node dist/bench/bare-claim.js FILE` serves the bare claim server over stdio on that database.
const direct = process.argv[1] !== undefined && /[/\\]bench[/\\]bare-claim\.js$/.test(process.argv[1]);
if (direct) {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  await buildBareServer(process.argv[2] as string).connect(new StdioServerTransport());
}
