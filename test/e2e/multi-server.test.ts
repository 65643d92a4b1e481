import { describe, expect, it } from 'vitest';
import { factoryHttp, httpAgent, useProcesses } from '../helpers/http.js';
import { freshDatabase, pgRows } from '../helpers/postgres.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

/**
 * Many servers on one PostgreSQL database (issue 14), all real processes: two `factory-mcp http`
 * servers and four stdio servers, eight agents racing with completions and chaining, one HTTP
 * server SIGKILLed mid-run; every phase completed exactly once and the log's chain intact.
 */

const run = useProcesses();

interface Claim {
  claimed: boolean;
  phase?: { mega: string; id: number };
  token?: string;
  owner?: string;
  reason?: string;
  remaining?: number;
}
type Caller = Pick<StdioAgent, 'call'>;
type Start = { instance: string; crashed: { instance: string; why: string }[]; resumed: { from: string; phases: { mega: string; id: number; token: string }[] }[] };

const MEGAS = 5;
const PER_MEGA = 60;
const CHAIN = 6; // each MEGA: ten chains of six, each phase depending on the one before

describe('two HTTP and four stdio servers on one PostgreSQL database', () => {
  it('8 agents race for 300 phases with chaining; one HTTP server is SIGKILLed mid-run and its agents resume elsewhere: every phase completed exactly once, the log verifies', async () => {
    const url = await freshDatabase();
    const dir = run.dir('factory-multi-');
    const [a, b] = await Promise.all([factoryHttp(url, dir, run.servers), factoryHttp(url, dir, run.servers)]);
    const stdio = await Promise.all([0, 1, 2, 3].map((i) => stdioAgent(url, { name: `stdio-${i}`, cwd: dir })));
    run.clients.push(...stdio);
    const onA = await Promise.all([0, 1].map((i) => httpAgent(a.url, { name: `a-${i}` })));
    const onB = await Promise.all([0, 1].map((i) => httpAgent(b.url, { name: `b-${i}` })));
    run.clients.push(...onA, ...onB);

    for (let m = 1; m <= MEGAS; m++) {
      const phases = Array.from({ length: PER_MEGA }, (_, i) => ({ id: i + 1, name: `phase ${m}.${i + 1}`, points: 1, deps: i % CHAIN === 0 ? [] : [i] }));
      await stdio[0]!.call('plan_mega', { key: `MS-${m}`, title: `multi ${m}`, phases });
    }
    const total = MEGAS * PER_MEGA;

    // Who each agent is, so the killed server's sessions can be named and resumed.
    const racers: { name: string; caller: Caller; instance: string }[] = [];
    for (const [name, ag] of [...stdio.map((s, i) => [`stdio-${i}`, s] as const), ['a-0', onA[0]!] as const, ['a-1', onA[1]!] as const, ['b-0', onB[0]!] as const, ['b-1', onB[1]!] as const]) {
      racers.push({ name, caller: ag, instance: (await ag.call<Start>('session_start', { agent: name })).instance });
    }

    const done: Record<string, string[]> = {};
    let completions = 0;
    const label = (c: Claim) => `${c.phase!.mega}/${c.phase!.id}`;
    // A third into the run, each agent of A stops on the claim it holds (working on it, as it were);
    // once both do, A is killed: nothing is in flight on A, so every answer is known.
    const holding = new Map<string, string>();
    let killNow!: () => void;
    const bothHold = new Promise<void>((r) => (killNow = r));
    let dead!: () => void;
    const aDead = new Promise<void>((r) => (dead = r));
    let recover!: () => void;
    const mayRecover = new Promise<void>((r) => (recover = r));
    const recovered: { name: string; phases: string[] }[] = [];

    /** Completes, chaining, from `c` until nothing is left; `hold` runs before each completion. */
    const work = async (name: string, caller: Caller, c: Claim, hold?: (c: Claim) => Promise<void>): Promise<void> => {
      for (;;) {
        if (!c.claimed) {
          if (c.remaining === 0) return;
          await new Promise((r) => setTimeout(r, 5)); // the rest is held or blocked: try again
          c = await caller.call<Claim>('claim_phase', {});
          continue;
        }
        await hold?.(c);
        const r = await caller.call<{ completed: boolean; next?: Claim; reason?: string }>('complete_phase', { mega: c.phase!.mega, phase: c.phase!.id, token: c.token, chain: true });
        expect(r, `${name} completing ${label(c)}`).toMatchObject({ completed: true });
        (done[name] ??= []).push(label(c));
        completions++;
        c = r.next!;
      }
    };

    /** An agent of server A: works until its server dies under it, then reconnects to B, resumes its own session's claims and goes on. */
    const victim = async (r: (typeof racers)[number]): Promise<void> => {
      const hold = async (c: Claim) => {
        if (completions < total / 3 || holding.has(r.name)) return;
        holding.set(r.name, label(c));
        if (holding.size === 2) killNow();
        await aDead;
      };
      try {
        await work(r.name, r.caller, await r.caller.call<Claim>('claim_phase', {}), hold);
        throw new Error(`${r.name} finished before its server was killed`);
      } catch (e) {
        if (!holding.has(r.name)) throw e; // a failure of its own, not the kill
      }
      await mayRecover;
      const again = await httpAgent(b.url, { name: `${r.name}-again` });
      run.clients.push(again);
      const start = await again.call<Start>('session_start', { agent: `${r.name}-again`, resume: r.instance });
      const adopted = start.resumed.flatMap((x) => x.phases);
      recovered.push({ name: r.name, phases: adopted.map((p) => `${p.mega}/${p.id}`) });
      for (const p of adopted) await work(`${r.name}-again`, again, { claimed: true, phase: { mega: p.mega, id: p.id }, token: p.token });
      await work(`${r.name}-again`, again, await again.call<Claim>('claim_phase', {}));
    };

    const t0 = Date.now();
    const running = racers.map((r) => (r.name.startsWith('a-') ? victim(r) : r.caller.call<Claim>('claim_phase', {}).then((c) => work(r.name, r.caller, c))));
    const failed = Promise.race(running.map((p) => p.then(() => new Promise<never>(() => {})))); // surfaces the first failure while we wait for the kill
    await Promise.race([bothHold, failed]);
    const exited = new Promise((r) => a.child.once('exit', r));
    a.child.kill('SIGKILL');
    await exited;
    // Their clients see the server gone (a call in flight would otherwise wait out the SDK's timeout).
    await Promise.all(onA.map((c) => c.close()));
    dead();

    // Server A is gone (same host: its pid no longer runs). Its agents' claims are held by sessions
    // of a dead server: every other server sees them as interrupted at once, no lease waited out.
    const victims = racers.filter((r) => r.name.startsWith('a-')).map((r) => r.instance);
    const held = await pgRows<{ mega: string; id: string; owner: string }>(url, 'SELECT mega, id, owner FROM phases WHERE owner = ANY($1) ORDER BY mega, ord', [victims]);
    expect(held.map((h) => `${h.mega}/${h.id}`).sort()).toEqual([...holding.values()].sort()); // each still holds the claim it had when A died
    for (const h of held) {
      expect(await stdio[1]!.call<Claim>('claim_phase', { mega: h.mega, phase: Number(h.id) })).toMatchObject({ claimed: false, reason: 'interrupted', owner: h.owner });
    }
    const report = await stdio[2]!.call<Start>('session_start', {});
    for (const owner of new Set(held.map((h) => h.owner))) expect(report.crashed).toContainEqual(expect.objectContaining({ instance: owner, why: 'process_gone' }));
    recover();
    await Promise.all(running);
    const seconds = (Date.now() - t0) / 1000;

    // The victims took back exactly what they held when A died.
    expect(recovered.flatMap((r) => r.phases).sort()).toEqual(held.map((h) => `${h.mega}/${h.id}`).sort());

    // Every phase completed exactly once, by the answers and by the database.
    const answered = Object.values(done).flat();
    expect(answered.sort()).toEqual(Array.from({ length: total }, (_, i) => `MS-${Math.floor(i / PER_MEGA) + 1}/${(i % PER_MEGA) + 1}`).sort());
    expect(Object.entries(done).filter(([, d]) => d.length > 0).length).toBeGreaterThanOrEqual(6); // the work was spread
    const rows = await pgRows<{ mega: string; id: string; owner: string | null; completed_by: string | null }>(url, 'SELECT mega, id, owner, completed_by FROM phases');
    expect(rows).toHaveLength(total);
    expect(rows.filter((r) => r.completed_by === null || r.owner !== null)).toEqual([]);
    const completes = await pgRows<{ mega: string; phase: string; n: string }>(url, "SELECT mega, phase, count(*) AS n FROM operations WHERE kind = 'complete' GROUP BY mega, phase");
    expect(completes).toHaveLength(total);
    expect(completes.filter((c) => Number(c.n) !== 1)).toEqual([]);
    // A phase is claimed once, and once more only when its owner's session was resumed.
    const claims = await pgRows<{ mega: string; phase: string; n: string }>(url, "SELECT mega, phase, count(*) AS n FROM operations WHERE kind = 'claim' GROUP BY mega, phase HAVING count(*) > 1");
    expect(claims.map((c) => `${c.mega}/${c.phase}`).sort()).toEqual(held.map((h) => `${h.mega}/${h.id}`).sort());
    expect(claims.every((c) => Number(c.n) === 2)).toBe(true);

    const verify = await runCli(['log', '--verify'], { cwd: dir, env: { ...process.env, FACTORY_DB: url, FACTORY_LOG: 'silent' } });
    expect(verify.stderr).toBe('');
    expect(verify.exitCode).toBe(0);
    expect(seconds).toBeLessThan(60);
  }, 120_000);
});
