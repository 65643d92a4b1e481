import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Store } from '../../src/core/store.js';
import { parseConfig } from '../../src/core/config.js';
import { runCouncil } from '../../src/council/service.js';
import { silentLogger } from '../../src/core/logger.js';
import { FakeLinear } from '../fakes/linear.js';
import { tempDir } from '../helpers/server.js';
import { runCli } from '../helpers/stdio.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli.js');

let dir: string;
let linear: FakeLinear;
beforeEach(async () => {
  dir = tempDir('factory-council-cli-');
  linear = await new FakeLinear().start();
  linear.states = [{ id: 'st', name: 'Todo', type: 'unstarted' }];
  linear.issues = [
    { id: 'u-m', identifier: 'CAB-7', title: 'Billing', stateId: 'st' },
    { id: 'u-a', identifier: 'CAB-8', title: 'Invoices', estimate: 3, stateId: 'st', parentId: 'u-m', relations: [{ type: 'blocks', relatedId: 'u-b' }] },
    { id: 'u-b', identifier: 'CAB-9', title: 'Payments', estimate: 8, stateId: 'st', parentId: 'u-m' },
  ];
});
afterEach(async () => {
  await linear.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string | undefined>) {
  const base = { ...process.env };
  delete base.LINEAR_API_KEY;
  return runCli([...args, '--cwd', dir, '--db', path.join(dir, 'f.db')], { cwd: dir, env: { ...base, ...env } as NodeJS.ProcessEnv });
}

describe('factory-mcp sync-plan and council (real subprocesses)', () => {
  it('sync-plan says what to set without a key, and plans from Linear with one', async () => {
    const none = await cli(['sync-plan', 'CAB-7'], {});
    expect(none.exitCode).toBe(1);
    expect(none.stdout).toContain('LINEAR_API_KEY is not set');
    const r = await cli(['sync-plan', 'CAB-7'], { LINEAR_API_KEY: linear.apiKey, FACTORY_LINEAR_API_URL: linear.apiUrl });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Planned CAB-7 from Linear: 2 phases, 0 done, ready: CAB-8');
    expect(r.stdout).toContain('- [ ] **CAB-9** Payments — 8 pts · after CAB-8 · blocked');
    expect(linear.requests.every((q) => q.headers.authorization === linear.apiKey)).toBe(true);
  });

  it('council --retry posts a report that failed earlier; council lists and prints it', async () => {
    // A council decided while Linear refused the key: the report waits in the outbox.
    const store = await Store.open(path.join(dir, 'f.db'), { leaseSeconds: 60 });
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 8, rationale: 'ok', concerns: [], adjustments: [] }));
    const deps = { store, config: parseConfig({}), root: dir, clock: Date.now, logger: silentLogger, env: { LINEAR_API_KEY: 'wrong', FACTORY_LINEAR_API_URL: linear.apiUrl } };
    const c = await runCouncil(deps, { subject: { title: 'Payments', description: 'Card payments', points: 8, ticket: 'CAB-9' }, reviews });
    expect(c.posted).toMatchObject({ ok: false, reason: 'auth' });
    await store.close();

    const listed = await cli(['council'], {});
    expect(listed.stdout).toContain(`#${c.council_id}  GO      8.00  Payments  waiting for Linear (CAB-9)`);
    const retried = await cli(['council', '--retry'], { LINEAR_API_KEY: linear.apiKey, FACTORY_LINEAR_API_URL: linear.apiUrl });
    expect(retried.exitCode).toBe(0);
    expect(retried.stdout).toContain('posted 1, failed 0, 0 still waiting');
    expect(linear.comments).toHaveLength(1);
    expect(linear.comments[0]?.body).toContain('## Council #1: Payments');
    const shown = await cli(['council', '--id', String(c.council_id)], {});
    expect(shown.stdout).toContain('**Verdict: GO**');
    expect((await cli(['council'], {})).stdout).toContain('Payments  posted');
  });
});

describe('run_council over stdio with a sampling client', () => {
  it('the factory-mcp process asks the client model per persona and the gate opens', async () => {
    const client = new Client({ name: 'sampling-agent', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const text = (req.params.messages[0]?.content as { text: string }).text;
      const persona = /"persona": "(\w+)"/.exec(text)?.[1];
      return { model: 'scripted', role: 'assistant', content: { type: 'text', text: JSON.stringify({ persona, score: 8, rationale: `${persona} agrees`, concerns: [], adjustments: [] }) } };
    });
    const env = { ...process.env } as Record<string, string>;
    delete env.LINEAR_API_KEY;
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, '--db', path.join(dir, 'f.db'), '--cwd', dir], env, stderr: 'ignore' }));
    try {
      const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })).structuredContent as Record<string, unknown>;
      await call('plan_mega', { key: 'CAB-7', title: 'Billing', phases: [{ id: 1, name: 'Payments', points: 8 }] });
      expect(await call('claim_phase', { mega: 'CAB-7', phase: 1 })).toMatchObject({ claimed: false, reason: 'council_required' });
      expect(await call('run_council', { subject: { title: 'Payments', description: 'Card payments', mega: 'CAB-7', phase: 1 } })).toMatchObject({ status: 'decided', verdict: 'go', average: 8 });
      expect(await call('claim_phase', { mega: 'CAB-7', phase: 1 })).toMatchObject({ claimed: true });
    } finally {
      await client.close();
    }
  });
});
