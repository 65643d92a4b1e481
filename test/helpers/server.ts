import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { parseConfig } from '../../src/core/config.js';
import { createServer, type FactoryServer, type ServerOptions } from '../../src/mcp/server.js';
import { Store } from '../../src/core/store.js';
import { freshDatabase } from './postgres.js';

export function tempDir(prefix = 'factory-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A controllable clock for leases: starts at a fixed instant, moves only when told. */
export class FakeClock {
  constructor(public now = Date.UTC(2026, 10, 25, 9, 0, 0)) {}
  readonly fn = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export interface Harness {
  dir: string;
  dbFile: string;
  /** Where the store lives: `dbFile`, or a PostgreSQL URL in the postgres project (for `--db`). */
  db: string;
  store: Store;
  clock: FakeClock;
  /** A new MCP client with its own server session on the shared store. */
  connect(opts?: ConnectOptions): Promise<Agent>;
  close(): Promise<void>;
}

/** Server options, plus the client's name, capabilities (e.g. sampling) and request handlers to install before connecting. */
export type ConnectOptions = Partial<ServerOptions> & { name?: string; capabilities?: ClientCapabilities; setup?: (client: Client) => void };

export interface Agent {
  client: Client;
  server: FactoryServer;
  /** Calls a tool; returns structuredContent, throws on an error result. */
  call<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  /** Calls a tool and returns the raw result (for error results). */
  raw(name: string, args?: unknown): Promise<CallToolResult>;
  close(): Promise<void>;
}

/**
 * The environment a test server gets unless the test gives one: this process's, without the
 * Linear and GitHub keys (a test reaches only the fakes, with keys it hands the server itself).
 * Tests never change process.env: they pass `env` to harness() or connect().
 */
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LINEAR_API_KEY;
  delete env.GITHUB_TOKEN;
  return Object.assign(env, extra);
}

/** A real SQLite file in a temp dir and any number of in-memory MCP clients on it; `env` is every server's ctx.env (default testEnv()). */
export interface HarnessOptions {
  config?: unknown;
  leaseSeconds?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * A fresh harness for each test of the calling file, closed after it: `const h = useHarness();`
 * at the top, then `h.connect()`, `h.store`… inside the tests.
 */
export function useHarness(opts: HarnessOptions = {}): Harness {
  let current: Harness | null = null;
  beforeEach(async () => {
    current = await harness(opts);
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  const get = (): Harness => {
    if (!current) throw new Error('useHarness: the harness exists only while a test runs');
    return current;
  };
  return {
    get dir() {
      return get().dir;
    },
    get dbFile() {
      return get().dbFile;
    },
    get db() {
      return get().db;
    },
    get store() {
      return get().store;
    },
    get clock() {
      return get().clock;
    },
    connect: (o) => get().connect(o),
    close: () => get().close(),
  };
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = tempDir();
  const dbFile = path.join(dir, 'factory.db');
  const config = parseConfig(opts.config ?? {});
  const db = await dbTarget(dbFile);
  const store = await Store.open(db, { leaseSeconds: opts.leaseSeconds ?? config.lease_seconds });
  const clock = new FakeClock();
  const agents: Agent[] = [];
  return {
    dir,
    dbFile,
    db,
    store,
    clock,
    async connect(o: ConnectOptions = {}) {
      const { name, capabilities, setup, ...serverOpts } = o;
      const server = createServer({ store, config, root: dir, clock: clock.fn, session: { transport: 'memory', pid: null }, env: opts.env ?? testEnv(), ...serverOpts });
      const client = new Client({ name: name ?? 'test-agent', version: '1.0.0' }, capabilities ? { capabilities } : undefined);
      setup?.(client);
      const [a, b] = InMemoryTransport.createLinkedPair();
      await Promise.all([server.server.connect(b), client.connect(a)]);
      const raw = (name: string, args?: unknown) => client.callTool({ name, arguments: args as Record<string, unknown> }) as Promise<CallToolResult>;
      const agent: Agent = {
        client,
        server,
        raw,
        async call<T>(name: string, args: Record<string, unknown> = {}) {
          const r = await raw(name, args);
          if (r.isError) throw new Error(`${name} returned an error: ${textOf(r)}`);
          return r.structuredContent as T;
        },
        async close() {
          await client.close();
          await server.cleanup();
        },
      };
      agents.push(agent);
      return agent;
    },
    async close() {
      await Promise.all(agents.map((a) => a.close()));
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Rows of a query on a database (a SQLite file or a PostgreSQL URL), read through a read-only store of its own. */
export async function readRows<R>(target: string, text: string, ...params: unknown[]): Promise<R[]> {
  const store = await Store.open(target, { leaseSeconds: 7200, readOnly: true });
  try {
    return await store.sql.prepare<unknown[], R>(text).all(...params);
  } finally {
    await store.close();
  }
}

/** Makes every refresh of a session's last_seen_at fail as on a full disk, on either engine; resolves to the undo. */
export async function failSessionRefresh(store: Store): Promise<() => Promise<void>> {
  if (store.sql.dialect === 'sqlite') {
    await store.sql.exec("CREATE TRIGGER no_refresh BEFORE UPDATE OF last_seen_at ON sessions BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    return () => store.sql.exec('DROP TRIGGER no_refresh');
  }
  await store.sql.exec(`CREATE FUNCTION no_refresh() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
    CREATE TRIGGER no_refresh BEFORE UPDATE OF last_seen_at ON sessions FOR EACH ROW EXECUTE FUNCTION no_refresh()`);
  return () => store.sql.exec('DROP TRIGGER no_refresh ON sessions; DROP FUNCTION no_refresh()');
}

/** The engine this test run's stores use: `postgres` in the vitest project of that name (FACTORY_TEST_ENGINE), else SQLite. */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.FACTORY_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

/** Where a test's store lives: `file` (SQLite), or a fresh database on the run's PostgreSQL server when the engine is postgres. */
export async function dbTarget(file: string): Promise<string> {
  return TEST_ENGINE === 'postgres' ? freshDatabase() : file;
}

export function textOf(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** A stable dump of every table (rows sorted), on either engine, to prove that a refused call changed nothing. */
export async function snapshot(store: Store): Promise<string> {
  const list =
    store.sql.dialect === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
      : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name';
  const tables = await store.sql.prepare<[], { name: string }>(list).all();
  const dump: [string, string[]][] = [];
  for (const t of tables) dump.push([t.name, (await store.sql.prepare(`SELECT * FROM "${t.name}"`).all()).map((r) => JSON.stringify(r)).sort()]);
  return JSON.stringify(dump);
}
