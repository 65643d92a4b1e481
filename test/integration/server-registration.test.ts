import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/server.js';

const h = useHarness();

describe('a server registers on its own, not in the first call of its first session', () => {
  it('a refused first call leaves the server registered, and the session that follows points at a row that heartbeats', async () => {
    const server = h.store.attachServer({ transport: 'stdio', heartbeatMs: 60_000 });
    const a = await h.connect();
    // The first writing call is refused for bad input: its transaction (and any session row) rolls back.
    const refused = await a.raw('claim_phase', { mega: 'NO-SUCH-MEGA' });
    expect(refused.isError).toBe(true);
    const start = await a.call<{ instance: string }>('session_start', {});
    const session = await h.store.sessions.get(start.instance);
    expect(session?.server_id).toBeTruthy();
    const row = await h.store.servers.get(session?.server_id as string);
    expect(row, 'the server row the session names exists').toBeDefined();
    expect(await h.store.servers.beat(row?.id as string, Date.now())).toBe(true);
    expect(await h.store.servers.liveness(row?.id as string, Date.now())).toBe('alive');
    await server.stop();
    expect((await h.store.servers.get(row?.id as string))?.stopped_at).not.toBeNull();
  });
});
