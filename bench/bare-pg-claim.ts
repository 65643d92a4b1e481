/**
 * The floor for the PostgreSQL claim race: a bare Streamable HTTP MCP server (one SDK session per
 * client, as bench/noop-http.ts) whose one tool, `claim_phase {mega}`, claims the next ready phase
 * in ONE statement straight on the database — `UPDATE … WHERE ctid = (SELECT ctid … FOR UPDATE SKIP
 * LOCKED LIMIT 1) RETURNING …` — on a table shaped like factory-mcp's phases (same key, ready
 * index, fencing epoch, lease columns). No log, no sessions, no gates: the ratio measures what
 * factory-mcp adds. `node dist/bench/bare-pg-claim.js postgres://…` prints `MCP at http://…/mcp`.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { listenMcpHttp } from './lib.js';

export const BARE_PG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS bare_phases (
    mega TEXT NOT NULL, id TEXT NOT NULL, ord BIGINT NOT NULL, name TEXT NOT NULL,
    owner TEXT, token TEXT, epoch BIGINT NOT NULL DEFAULT 0, unmet BIGINT NOT NULL DEFAULT 0,
    claimed_at BIGINT, lease_seconds BIGINT, lease_expires_at BIGINT, completed_at BIGINT,
    PRIMARY KEY (mega, id)
  );
  CREATE INDEX IF NOT EXISTS bare_phases_lease ON bare_phases(lease_expires_at) WHERE owner IS NOT NULL;
  CREATE INDEX IF NOT EXISTS bare_phases_ready ON bare_phases(mega, ord) WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0;
`;

const CLAIM = `
  UPDATE bare_phases SET owner = $1, token = $2, epoch = epoch + 1, claimed_at = $3, lease_seconds = 900, lease_expires_at = $4
  WHERE ctid = (SELECT ctid FROM bare_phases WHERE mega = $5 AND owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY ord LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, epoch`;

/** Creates the bare table on `url`'s database (beside factory-mcp's tables) with the phases of one MEGA, all ready. */
export async function seedBarePg(url: string, mega: string, phases: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(BARE_PG_SCHEMA);
    await c.query('INSERT INTO bare_phases (mega, id, ord, name) SELECT $1, g::text, g, $2 || g FROM generate_series(1, $3::int) g', [mega, 'p', phases]);
  } finally {
    await c.end();
  }
}

/** The claims the bare table holds: phases with an owner. */
export async function barePgOwned(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM bare_phases WHERE owner IS NOT NULL')).rows[0]?.n);
  } finally {
    await c.end();
  }
}

function buildServer(pool: pg.Pool, me: string, next: () => number): Server {
  const server = new Server({ name: 'bare-pg-claim', version: '0.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [{ name: 'claim_phase', description: 'claims the next ready phase', inputSchema: { type: 'object' }, outputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const mega = String((req.params.arguments as { mega?: unknown } | undefined)?.mega ?? '');
    const token = `${me}-${next()}`;
    const now = Date.now();
    const r = await pool.query<{ id: string; epoch: string }>({ name: 'bare-claim', text: CLAIM, values: [me, token, now, now + 900_000, mega] });
    const row = r.rows[0];
    const out = row ? { claimed: true, phase: { mega, id: Number(row.id) }, token } : { claimed: false };
    return { structuredContent: out, content: [{ type: 'text', text: JSON.stringify(out) }] };
  });
  return server;
}

/** Serves the bare claim server on 127.0.0.1 (a free port); resolves to its base URL. */
export async function serveBarePg(url: string, opts: { poolSize?: number } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
  const me = `bare-${process.pid}-${randomUUID().slice(0, 8)}`;
  let n = 0;
  const { server, url: base } = await listenMcpHttp(() => buildServer(pool, me, () => ++n));
  return {
    url: base,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await pool.end();
    },
  };
}

// `node dist/bench/bare-pg-claim.js URL` serves it until SIGTERM.
const direct = process.argv[1] !== undefined && /[/\\]bench[/\\]bare-pg-claim\.js$/.test(process.argv[1]);
if (direct) {
  const s = await serveBarePg(process.argv[2] as string);
  process.stdout.write(`MCP at ${s.url}/mcp\n`);
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
}
