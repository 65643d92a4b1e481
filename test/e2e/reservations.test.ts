import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { Store } from '../../src/core/store.js';
import { startHttp } from '../../src/http/server.js';
import { request } from '../helpers/http.js';
import { tempDir } from '../helpers/server.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

let dir: string;
let db: string;
let agents: StdioAgent[] = [];

beforeEach(() => {
  dir = tempDir('factory-resv-');
  db = path.join(dir, 'factory.db');
  agents = [];
});
afterEach(async () => {
  await Promise.all(agents.map((a) => a.close().catch(() => {})));
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Claim {
  claimed: boolean;
  token?: string;
  owner?: string;
  reason?: string;
  files?: string[];
  reserved_by?: { owner: string; agent: string | null; phase: unknown; overlaps: { mine: string; theirs: string }[] }[];
}

describe('file reservations between real stdio processes', () => {
  it('two processes: the second cannot reserve the first one’s files, and can once that claim is complete', async () => {
    agents = await Promise.all([stdioAgent(db, { name: 'alpha', cwd: dir }), stdioAgent(db, { name: 'beta', cwd: dir })]);
    const [a, b] = agents as [StdioAgent, StdioAgent];
    const sa = await a.call<{ instance: string }>('session_start', { agent: 'alpha-agent' });
    await b.call('session_start', { agent: 'beta-agent' });
    await a.call('plan_mega', { key: 'E-1', title: 'e2e', phases: [1, 2, 3].map((id) => ({ id, name: `phase ${id}` })) });
    const [ca, cb] = await Promise.all([
      a.call<Claim>('claim_phase', { mega: 'E-1', phase: 1, files: ['src/core/**', 'README.md'] }),
      new Promise((r) => setTimeout(r, 50)).then(() => b.call<Claim>('claim_phase', { mega: 'E-1', phase: 2, files: ['src/core/glob.ts'] })),
    ]);
    expect(ca).toMatchObject({ claimed: true, files: ['src/core/**', 'README.md'] });
    expect(cb).toMatchObject({ claimed: false, reason: 'files_reserved', owner: sa.instance });
    expect(cb.reserved_by?.[0]).toMatchObject({ owner: sa.instance, agent: 'alpha-agent', phase: 1, overlaps: [{ mine: 'src/core/glob.ts', theirs: 'src/core/**' }] });

    // The dashboard's JSON shows the reservation beside the claim.
    const store = await Store.open(db, { leaseSeconds: 7200, readOnly: true });
    const srv = await startHttp({ store, config: parseConfig({}), root: dir, port: 0 });
    try {
      const board = JSON.parse((await request(srv.url, { path: '/api/board', headers: { host: new URL(srv.url).host } })).body) as { megas: { phases: { id: number; files?: string[] }[] }[] };
      expect(board.megas[0]?.phases.find((p) => p.id === 1)?.files).toEqual(['src/core/**', 'README.md']);
    } finally {
      await srv.close(1000);
      await store.close();
    }

    await a.call('complete_phase', { mega: 'E-1', phase: 1, token: ca.token });
    expect(await b.call<Claim>('claim_phase', { mega: 'E-1', phase: 2, files: ['src/core/glob.ts'] })).toMatchObject({ claimed: true, files: ['src/core/glob.ts'] });
  });
});
