import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeLinear } from '../fakes/linear.js';
import { tempDir } from '../helpers/server.js';
import { runCli, stdioAgent } from '../helpers/stdio.js';

/** The ticket lifecycle through a real `factory-mcp` stdio process and the `tickets` command, against the fake Linear. */

let dir: string;
let linear: FakeLinear;
beforeEach(async () => {
  dir = tempDir('factory-lifecycle-');
  linear = await new FakeLinear().start();
  linear.states = [
    { id: 'st-todo', name: 'Todo', type: 'unstarted' },
    { id: 'st-doing', name: 'Doing', type: 'started' },
    { id: 'st-done', name: 'Done', type: 'completed' },
  ];
  linear.issues = [
    { id: 'u-1', identifier: 'CAB-1', title: 'API', stateId: 'st-todo' },
    { id: 'u-2', identifier: 'CAB-2', title: 'UI', stateId: 'st-todo' },
  ];
});
afterEach(async () => {
  await linear.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('claim_phase over stdio moves the Linear ticket', () => {
  it('delivers in the background; a failed update waits, is listed by `tickets` and delivered by `tickets --retry`', async () => {
    const db = path.join(dir, 'f.db');
    const env = { LINEAR_API_KEY: linear.apiKey, FACTORY_LINEAR_API_URL: linear.apiUrl };
    const agent = await stdioAgent(db, { env, cwd: dir });
    try {
      await agent.call('plan_mega', {
        key: 'CAB-0',
        title: 'Shop',
        phases: [
          { id: 1, name: 'API', tickets: ['CAB-1'] },
          { id: 2, name: 'UI', tickets: ['CAB-2'] },
        ],
      });
      const c1 = await agent.call<{ claimed: boolean; tickets: unknown; message: string }>('claim_phase', { mega: 'CAB-0', phase: 1 });
      expect(c1).toMatchObject({ claimed: true, tickets: { status: 'queued' } });
      expect(c1.message).toContain('Linear: CAB-1 queued to move to started');
      await vi.waitFor(() => expect(linear.issues[0]?.stateId).toBe('st-doing'), { timeout: 10_000 });

      linear.failNext(1);
      const c2 = await agent.call<{ claimed: boolean }>('claim_phase', { mega: 'CAB-0', phase: 2 });
      expect(c2.claimed).toBe(true);
      const base = { ...process.env };
      delete base.LINEAR_API_KEY;
      const cli = (args: string[], extra: Record<string, string> = {}) => runCli([...args, '--cwd', dir, '--db', db], { cwd: dir, env: { ...base, ...extra } });
      await vi.waitFor(
        async () => {
          const listed = await cli(['tickets']);
          expect(listed.stdout).toMatch(/^CAB-2 → started {2}1 attempt\(s\) {2}Linear error \(HTTP 503\)/);
        },
        { timeout: 10_000 },
      );
      expect(linear.issues[1]?.stateId).toBe('st-todo');

      const noKey = await cli(['tickets', '--retry']);
      expect(noKey.exitCode).toBe(1);
      expect(noKey.stdout).toContain('1 ticket update(s) wait for Linear: LINEAR_API_KEY is not set');
      const retried = await cli(['tickets', '--retry'], env);
      expect(retried.stdout).toContain('1 ticket(s) updated in Linear, 0 failed, 0 still waiting');
      expect(retried.stdout).toContain('CAB-2 moved to Doing from Todo in Linear');
      expect(retried.exitCode).toBe(0);
      expect(linear.issues[1]?.stateId).toBe('st-doing');
      expect((await cli(['tickets'])).stdout).toBe('No ticket update waits for Linear.\n');
    } finally {
      await agent.close();
    }
  });

  it('factory-mcp claim (the terminal twin) moves the ticket before the command ends, quietly', async () => {
    const db = path.join(dir, 'f.db');
    const keys = { LINEAR_API_KEY: linear.apiKey, FACTORY_LINEAR_API_URL: linear.apiUrl };
    const base: NodeJS.ProcessEnv = { ...process.env, FACTORY_LOG: 'warn', FACTORY_DB: db, FACTORY_SESSION: '' };
    delete base.LINEAR_API_KEY;
    const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { ...base, ...env } });
    const started = await cli(['session', 'start', '--agent', 'shell']);
    const session = { FACTORY_SESSION: /FACTORY_SESSION=(\S+)/.exec(started.stdout)?.[1] as string };
    const plan = { key: 'CAB-0', title: 'Shop', phases: [{ id: 1, name: 'API', tickets: ['CAB-1'] }] };
    expect((await cli(['call', 'plan_mega', '--args', JSON.stringify(plan)], session)).exitCode).toBe(0);
    const claim = await cli(['claim', 'CAB-0', '--phase', '1'], { ...session, ...keys });
    expect(claim.exitCode, claim.stderr).toBe(0);
    expect(claim.stdout).toContain('Linear: CAB-1 queued to move to started');
    // Moved by the time the process ended: no waiting, nothing left queued, nothing on stderr.
    expect(linear.issues[0]?.stateId).toBe('st-doing');
    expect(claim.stderr).toBe('');
    expect((await cli(['tickets'])).stdout).toBe('No ticket update waits for Linear.\n');
  });
});
