import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

// Issue 12, review: every gate has a config switch, and factory.config.json is a file the agent
// can edit. An agent held at awaiting_human wrote `ask_blocks_complete: false` (and dropped the
// content_skipped rule), restarted its server, adopted its claim and completed — and nothing said
// so. The config is still the agent's to edit; what it switches off is now said in the answers
// and in the operations log, with what changed after the claim.

let repo: TestRepo | null = null;
const open: StdioAgent[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close().catch(() => {})));
  repo?.remove();
  repo = null;
});

const ASK_FILES = [{ path: 'src/auth/login.ts', additions: 40, deletions: 2 }];
const WEAK = { changes: { ask_blocks_complete: false, remove: ['content_skipped'] }, dod: { github: 'off' } };

async function agent(db: string): Promise<StdioAgent> {
  const a = await stdioAgent(db, { cwd: repo!.dir, env: { LINEAR_API_KEY: '', GITHUB_TOKEN: '' } });
  open.push(a);
  return a;
}

function weakenedEntries(db: string): { instance: string; phase: string; message: string; data: string }[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare("SELECT instance, phase, message, data FROM operations WHERE kind = 'config_weakened' ORDER BY seq").all() as never;
  } finally {
    d.close();
  }
}

describe('a config that weakens a gate is said, not silent', () => {
  it('Ask held the phase; the agent switched ask_blocks_complete off and restarted: the completion and the log name it, as changed since the claim', async () => {
    repo = makeRepo({ branch: 'feature' });
    const db = path.join(repo.dir, '.factory', 'factory.db');
    const a = await agent(db);
    const { instance } = await a.call<{ instance: string }>('session_start', {});
    await a.call('plan_mega', { key: 'W-1', title: 'Login', phases: [{ id: 1, name: 'login form', points: 3 }] });
    const claim = await a.call<{ token: string; message: string }>('claim_phase', { mega: 'W-1', phase: 1 });
    expect(claim.message).not.toContain('config weakens');
    const at = { mega: 'W-1', phase: 1, token: claim.token };
    expect(await a.call('classify_change', { ...at, files: ASK_FILES })).toMatchObject({ level: 'ask', stored: true });
    expect(await a.call('complete_phase', at)).toMatchObject({ completed: false, reason: 'awaiting_human' });
    expect(weakenedEntries(db)).toEqual([]);
    await a.close();

    // The agent edits the config and starts a new server, adopting its own claim.
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify(WEAK));
    const b = await agent(db);
    const s = await b.call<{ instance: string; resumed: { phases: { token: string }[] }[] }>('session_start', { resume: instance });
    const token = s.resumed[0]!.phases[0]!.token;

    const c = await b.call<{ level: string; message: string }>('classify_change', { mega: 'W-1', phase: 1, token, files: ASK_FILES });
    expect(c.level).toBe('ask');
    expect(c.message).toContain('config weakens gates: changes.ask_blocks_complete false');
    expect(c.message).toContain('changes.remove drops built-in rule(s) content_skipped');

    // A forged entry cannot pretend the claim was made under this config.
    const forged = await b.raw('log_operation', { kind: 'config_weakened', mega: 'W-1', phase: 1, message: 'claim', data: { at: 'claim', settings: [] } });
    expect(forged.isError).toBe(true);
    expect(JSON.stringify(forged.content)).toContain('config_weakened is written by the server itself');

    const done = await b.call<{ completed: boolean; message: string }>('complete_phase', { mega: 'W-1', phase: 1, token });
    expect(done.completed).toBe(true);
    expect(done.message).toContain('config weakens gates: changes.ask_blocks_complete false (Ask does not wait for a human)');
    expect(done.message).toContain('dod.github "off"');
    expect(done.message).toContain('(since the claim: changes.ask_blocks_complete false');
    const log = weakenedEntries(db);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ phase: '1' });
    expect(log[0]!.message).toContain('complete of W-1/1');
    const data = JSON.parse(log[0]!.data) as { at: string; settings: string[]; since_claim: string[] };
    expect(data.at).toBe('complete');
    expect(data.settings).toEqual(expect.arrayContaining(['changes.ask_blocks_complete false (Ask does not wait for a human)', 'dod.github "off" (pr_created and ci_green skipped)']));
    expect(data.since_claim).toEqual(data.settings);
  });

  it('claimed under the weakened config: the claim is logged with it, and the completion names nothing as changed since', async () => {
    repo = makeRepo({ branch: 'feature' });
    fs.writeFileSync(
      path.join(repo.dir, 'factory.config.json'),
      JSON.stringify({ council: { gate_points: 40, supersede_sources: ['caller'] }, dod: { components: [{ name: 'app', commands: { tests: false }, after: [] }] } }),
    );
    const db = path.join(repo.dir, '.factory', 'factory.db');
    const a = await agent(db);
    await a.call('plan_mega', { key: 'W-2', title: 'Big', phases: [{ id: 1, name: 'rewrite', points: 13 }] });
    const claim = await a.call<{ claimed: boolean; token: string; message: string }>('claim_phase', { mega: 'W-2', phase: 1 });
    expect(claim.claimed).toBe(true);
    expect(claim.message).toContain('council.gate_points 40 (default 5)');
    expect(claim.message).toContain('council.supersede_sources includes "caller"');
    expect(claim.message).toContain('dod.components[0].commands tests false');
    expect(claim.message).toContain('dod.components[0].after without "compiles"');
    const done = await a.call<{ completed: boolean; message: string }>('complete_phase', { mega: 'W-2', phase: 1, token: claim.token });
    expect(done.completed).toBe(true);
    expect(done.message).toContain('config weakens gates');
    expect(done.message).not.toContain('since the claim');
    expect(weakenedEntries(db).map((e) => (JSON.parse(e.data) as { at: string }).at)).toEqual(['claim', 'complete']);
  });
});
