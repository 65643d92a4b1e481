import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { parseConfig } from '../src/core/config.js';
import { createServer } from '../src/mcp/server.js';
import { Store } from '../src/core/store.js';
import { buildNoopServer } from './noop.js';

/**
 * run_council with caller-provided reviews (validated, decided, stored with its operations entry,
 * report rendered) against a no-op tool call in the same run, over the same transport: the SDK's
 * in-memory transport (pure server cost), and stdio (real subprocesses, as agents run it).
 * Target: p50 within 3× of the no-op floor.
 */

const ITER = Number(process.env.BENCH_ITER ?? 2000);
const WARMUP = 200;

async function connect(server: Server): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(b), client.connect(a)]);
  return client;
}

async function measure(fn: () => Promise<unknown>): Promise<{ p50: number; p90: number; mean: number }> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < ITER; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  t.sort((x, y) => x - y);
  const at = (q: number) => t[Math.min(t.length - 1, Math.floor(q * t.length))] as number;
  return { p50: at(0.5), p90: at(0.9), mean: t.reduce((x, y) => x + y, 0) / t.length };
}

type Stats = { p50: number; p90: number; mean: number };
export interface CouncilBench {
  transport: 'memory' | 'stdio';
  noop: Stats;
  council: Stats;
  ratio: number;
}

const reviews = (['chucky', 'oss_killer', 'archi', 'saul'] as const).map((persona, i) => ({
  persona,
  score: 6 + i,
  rationale: `${persona}: the proposal is scoped, the risks are named and the rollback is clear.`,
  concerns: ['migration of existing rows', 'load on the gateway'],
  adjustments: ['add a feature flag'],
}));

async function compare(noopClient: Client, client: Client, transport: CouncilBench['transport']): Promise<CouncilBench> {
  await client.callTool({ name: 'plan_mega', arguments: { key: 'CAB-1290', title: 'Gateway rework', phases: [{ id: 1, name: 'API + Gateway', points: 8 }] } });
  let n = 0;
  const noop = await measure(() => noopClient.callTool({ name: 'noop', arguments: {} }));
  const council = await measure(async () => {
    const r = await client.callTool({
      name: 'run_council',
      arguments: { subject: { title: `Proposal ${n++}`, description: 'Move every route behind the new gateway.', points: 8, mega: 'CAB-1290', phase: 1 }, reviews },
    });
    if (r.isError) throw new Error(JSON.stringify(r.content));
  });
  return { transport, noop, council, ratio: council.p50 / noop.p50 };
}

export async function benchCouncil(transport: CouncilBench['transport']): Promise<CouncilBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-council-'));
  const dbFile = path.join(dir, 'factory.db');
  const clients: Client[] = [];
  const cleanups: (() => unknown)[] = [];
  try {
    if (transport === 'memory') {
      const store = await Store.open(dbFile, { leaseSeconds: 7200 });
      const factory = createServer({ store, config: parseConfig({}), root: dir, session: { transport: 'memory', pid: null } });
      cleanups.push(async () => (await factory.cleanup(), await store.close()));
      clients.push(await connect(buildNoopServer()), await connect(factory.server));
    } else {
      const here = path.dirname(fileURLToPath(import.meta.url));
      const env = { ...process.env } as Record<string, string>;
      delete env.LINEAR_API_KEY;
      for (const args of [[path.join(here, 'noop.js')], [path.join(here, '../src/cli.js'), '--db', dbFile, '--cwd', dir]]) {
        const client = new Client({ name: 'bench', version: '1.0.0' });
        await client.connect(new StdioClientTransport({ command: process.execPath, args, env, stderr: 'ignore' }));
        clients.push(client);
      }
    }
    return await compare(clients[0] as Client, clients[1] as Client, transport);
  } finally {
    for (const c of clients) await c.close();
    for (const f of cleanups) await f();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const direct = process.argv[1] !== undefined && path.resolve(process.argv[1]).endsWith(path.join('bench', 'council.js'));
if (direct) {
  const f = (x: number) => `${(x * 1000).toFixed(0)} µs`;
  for (const t of ['memory', 'stdio'] as const) {
    const r = await benchCouncil(t);
    console.log(`[${t}] no-op tool call     p50 ${f(r.noop.p50)}  p90 ${f(r.noop.p90)}  mean ${f(r.noop.mean)}`);
    console.log(`[${t}] run_council (4 rev) p50 ${f(r.council.p50)}  p90 ${f(r.council.p90)}  mean ${f(r.council.mean)}`);
    console.log(`[${t}] ratio p50 ${r.ratio.toFixed(2)}× (target ≤ 3×) over ${ITER} calls each`);
  }
}
