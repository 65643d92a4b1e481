import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

/**
 * The tools' terminal twins (src/cli/twins.ts) and CLI sessions (src/cli/session.ts): real
 * processes on one real database. Each command is its own process; a CLI session started with
 * `session start` carries the claim across them, and the claim gate (a token works only in the
 * session holding the claim) holds between CLI sessions and against MCP sessions.
 */
let dir: string;
let db: string;
const base = () => ({ ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: db, FACTORY_SESSION: '' });
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { ...base(), ...env } });
const json = async (args: string[], env: Record<string, string> = {}) => {
  const r = await cli([...args, '--json'], env);
  let out: Record<string, unknown> = {};
  if (r.stdout.trim()) out = JSON.parse(r.stdout) as Record<string, unknown>;
  return { ...r, out };
};

/** `eval "$(factory-mcp session start)"` as a shell does it: the key from the export line. */
async function startSession(agent: string, more: string[] = []): Promise<{ key: string; instance: string; env: Record<string, string> }> {
  const r = await cli(['session', 'start', '--agent', agent, ...more]);
  expect(r.exitCode, r.stderr).toBe(0);
  const m = /^export FACTORY_SESSION=(fs_[A-Za-z0-9_-]{43})\n$/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  const instance = /You are (t\d+)/.exec(r.stderr)?.[1] as string;
  expect(instance).toMatch(/^t\d+$/);
  return { key: m?.[1] as string, instance, env: { FACTORY_SESSION: m?.[1] as string } };
}

const keys: string[] = [];
let a: Awaited<ReturnType<typeof startSession>>;

beforeAll(async () => {
  dir = tempDir('factory-twins-');
  db = path.join(dir, 'factory.db');
  fs.writeFileSync(
    path.join(dir, 'plan.yaml'),
    ['key: M-1', 'title: Twins', 'phases:', '  - { id: 1, name: one, points: 2 }', '  - { id: 2, name: two, deps: [1] }', '  - { id: 3, name: three }', ''].join('\n'),
  );
  a = await startSession('alice');
  keys.push(a.key);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('CLI twins in one CLI session across processes', () => {
  it('plan (YAML) → claim → heartbeat → checkpoint → complete --chain, each a separate process, --json parsed', async () => {
    const plan = await json(['plan', 'plan.yaml'], a.env);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.out).toMatchObject({ mega: 'M-1', phases: 3, created: true, ready: [1, 3] });

    const claim = await json(['claim', 'M-1', '--phase', '1', '--files', 'src/one/**'], a.env);
    expect(claim.exitCode, claim.stderr).toBe(0);
    expect(claim.out).toMatchObject({ claimed: true, owner: a.instance, phase: { mega: 'M-1', id: 1 }, files: ['src/one/**'] });
    const token = claim.out.token as string;

    // --mega/--phase are found from the token among this session's claims
    const beat = await json(['heartbeat', '--token', token], a.env);
    expect(beat.exitCode, beat.stderr).toBe(0);
    expect(beat.out).toMatchObject({ ok: true, lease_expires_at: expect.any(String) });

    const cp = await json(
      ['checkpoint', '--token', token, '--done', 'schema', '--done', 'api', '--next', 'ui', '--percent', '60', '--note', 'half way', '--touched', 'src/one/a.ts', '--files', 'docs/one/**'],
      a.env,
    );
    expect(cp.exitCode, cp.stderr).toBe(0);
    expect(cp.out).toMatchObject({ saved: true, checkpoint_id: expect.any(Number) });
    const reserved = await json(['board', 'M-1']);
    const one = (reserved.out.megas as { phases: { id: number; files?: string[] }[] }[])[0]?.phases.find((p) => p.id === 1);
    expect(one?.files).toEqual(['src/one/**', 'docs/one/**']); // --files widened the reservation; --touched did not

    const done = await json(['complete', '--token', token, '--mega', 'M-1', '--phase', '1', '--chain'], a.env);
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.out).toMatchObject({ completed: true, phase: { id: 1 }, next: { claimed: true, owner: a.instance, token: expect.any(String) } });
    const next = done.out.next as { phase: { id: number }; token: string };

    const board = await json(['board', 'M-1']);
    expect(board.exitCode).toBe(0);
    const phases = (board.out.megas as { phases: { id: number; status: string; owner: string | null; owner_state?: string; checkpoint?: unknown }[] }[])[0]?.phases ?? [];
    const held = phases.find((p) => p.id === next.phase.id);
    // the session outlived every process: its claim is live, not interrupted
    expect(held).toMatchObject({ status: 'claimed', owner: a.instance });
    expect(held?.owner_state).toBeUndefined();
    expect(phases.find((p) => p.id === 1)).toMatchObject({ status: 'done' });

    // the text answer (no --json) carries the token the next command needs; a refusal is exit 1
    const text = await cli(['heartbeat', '--token', 'fx1-00000000-0000-0000', '--mega', 'M-1', '--phase', String(next.phase.id)], a.env);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/stale_token/);
    const release = await json(['release', '--token', next.token, '--reason', 'not today'], a.env);
    expect(release.exitCode, release.stderr).toBe(0);
    expect(release.out).toMatchObject({ released: true });
    const again = await json(['release', '--token', next.token, '--mega', 'M-1', '--phase', String(next.phase.id), '--reason', 'twice'], a.env);
    expect(again.exitCode).toBe(1);
    expect(again.out).toMatchObject({ released: false, reason: 'not_claimed' });
    // in text, a claim ends with the commands that take its token, as a shell user reads it
    const claimText = await cli(['claim', 'M-1'], a.env);
    expect(claimText.exitCode, claimText.stderr).toBe(0);
    const taken = /^then: factory-mcp heartbeat\|checkpoint\|complete --token (\S+)$/m.exec(claimText.stdout)?.[1] as string;
    expect(taken).toMatch(/^fx\d+-/);
    expect((await cli(['release', '--token', taken, '--reason', 'done looking'], a.env)).exitCode).toBe(0);
  });

  it('memory add/list, and council --file: decided exit 0, needs_reviews exit 1', async () => {
    const add = await json(['memory', 'add', 'decisions', 'twins', 'go', 'through', 'callTool'], a.env);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.out).toMatchObject({ appended: expect.any(Number) });
    const list = await json(['memory', 'list', '--section', 'decisions']);
    expect(list.exitCode).toBe(0);
    expect(list.out.entries).toEqual([expect.objectContaining({ section: 'decisions', text: 'twins go through callTool', author: expect.stringContaining(a.instance) })]);

    fs.writeFileSync(path.join(dir, 'proposal.md'), '# Cache the board\n\nKeep the board in memory between polls.\n');
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 9, rationale: `${persona}: fine` }));
    fs.writeFileSync(path.join(dir, 'reviews.json'), JSON.stringify(reviews));
    const decided = await json(['council', '--file', 'proposal.md', '--reviews', 'reviews.json', '--points', '3'], a.env);
    expect(decided.exitCode, decided.stderr).toBe(0);
    expect(decided.out).toMatchObject({ status: 'decided', verdict: 'go', council_id: expect.any(Number) });
    expect(decided.out.report_markdown).toContain('Cache the board');
    fs.writeFileSync(path.join(dir, 'other.md'), 'Split the board per MEGA.\n');
    const briefs = await json(['council', '--file', 'other.md']);
    expect(briefs.exitCode).toBe(1);
    expect(briefs.out).toMatchObject({ status: 'needs_reviews', personas: expect.arrayContaining([expect.objectContaining({ id: 'saul' })]) });
    // the listing of the council command is unchanged
    const listed = await cli(['council']);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toMatch(/GO .*Cache the board/);
  });

  it('bad input is exit 2 naming the flag, and nothing is written', async () => {
    const before = (await cli(['log', '--json', '--limit', '1000'])).stdout;
    const cases: [string[], RegExp][] = [
      [['claim', '--bogus'], /Unknown option '--bogus'/],
      [['checkpoint', '--percent', 'lots'], /--percent: progress\.percent/],
      [['claim', 'M-1', '--lease-seconds=-5'], /--lease-seconds: lease_seconds/],
      [['heartbeat', '--token', 'nope'], /--mega: and --phase are required: this session holds no claim with that token/],
      [['heartbeat'], /--token: required/],
      [['claim', 'M-1', 'M-2'], /argument "M-2": unexpected/],
      [['plan', 'missing.yaml'], /FILE: missing\.yaml: ENOENT/],
      [['memory', 'add', 'gossip', 'x'], /--section: section/],
      [['board', '--limit', '0'], /--limit: limit/],
      [['checkpoint', '--touched', 'x'.repeat(1001)], /--touched: progress\.files\[0\]/],
      [['council', '--file', 'proposal.md', '--reviews', 'proposal.md'], /--reviews: not JSON/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args, a.env);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'key: M-2\ntitle: [unclosed\n');
    const yaml = await cli(['plan', 'bad.yaml'], a.env);
    expect(yaml.exitCode).toBe(2);
    expect(yaml.stderr).toMatch(/FILE: bad\.yaml: not YAML or JSON/);
    fs.writeFileSync(path.join(dir, 'cycle.json'), JSON.stringify({ key: 'M-2', title: 'x', phases: [{ id: 1, name: 'a', deps: [9] }] }));
    const invalid = await cli(['plan', 'cycle.json'], a.env);
    expect(invalid.exitCode).toBe(2);
    expect(invalid.stderr).toMatch(/phases\[0\]\.deps/);
    expect((await cli(['log', '--json', '--limit', '1000'])).stdout).toBe(before);
  });
});

describe('the claim gate holds across CLI and MCP sessions', () => {
  let agent: StdioAgent | undefined;
  afterAll(async () => agent?.close());

  it('no key, a malformed key, an unknown key: exit 2 saying how to start a session', async () => {
    const none = await cli(['claim', 'M-1']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/--session: this command acts as a CLI session and none is given: start one with {2}eval "\$\(factory-mcp session start --agent NAME\)"/);
    for (const cmd of [['heartbeat', '--token', 't'], ['complete', '--token', 't'], ['release', '--token', 't', '--reason', 'r'], ['checkpoint'], ['session', 'end']]) {
      expect((await cli(cmd)).exitCode, cmd.join(' ')).toBe(2);
    }
    const malformed = await cli(['claim', 'M-1', '--session', 'hunter2']);
    expect(malformed.exitCode).toBe(2);
    expect(malformed.stderr).toMatch(/--session: not a session key/);
    expect(malformed.stderr).not.toContain('hunter2');
    const madeUp = `fs_${'A'.repeat(43)}`;
    const unknown = await cli(['claim', 'M-1'], { FACTORY_SESSION: madeUp });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/FACTORY_SESSION: not the key of a session in this database/);
    expect(unknown.stderr).not.toContain(madeUp);
  });

  it("session B cannot use session A's token, nor adopt A while A is live; an MCP session's token is refused in the CLI and A's in MCP", async () => {
    const claimA = await json(['claim', 'M-1', '--phase', '3'], a.env);
    expect(claimA.exitCode, claimA.stderr).toBe(0);
    const tokenA = claimA.out.token as string;

    const b = await startSession('bob');
    keys.push(b.key);
    const stolen = await json(['complete', '--token', tokenA, '--mega', 'M-1', '--phase', '3'], b.env);
    expect(stolen.exitCode).toBe(1);
    expect(stolen.out).toMatchObject({ completed: false, reason: 'not_owner', owner: a.instance });
    // without --mega/--phase, B's own claims are searched: A's token is not among them
    expect((await cli(['heartbeat', '--token', tokenA], b.env)).exitCode).toBe(2);
    // --session wins over FACTORY_SESSION, and names the session it acts as
    const viaFlag = await json(['heartbeat', '--token', tokenA, '--mega', 'M-1', '--phase', '3', '--session', b.key], a.env);
    expect(viaFlag.out).toMatchObject({ ok: false, reason: 'not_owner' });
    // A is live (its lease runs): not adoptable
    const adopt = await cli(['session', 'start', '--resume', a.instance], {});
    expect(adopt.exitCode).toBe(2);
    expect(adopt.stderr).toMatch(/resume: .* is not an interrupted or parked session/);
    expect(adopt.stdout).toBe('');

    // an MCP stdio agent with A's key in its environment is still its own session
    agent = await stdioAgent(db, { name: 'mcp-agent', env: { FACTORY_SESSION: a.key } });
    const mcp = await agent.call<{ instance: string }>('session_start', { agent: 'mcp-agent' });
    const viaMcp = await agent.call<{ ok: boolean; reason?: string }>('heartbeat', { mega: 'M-1', phase: 3, token: tokenA });
    expect(viaMcp).toMatchObject({ ok: false, reason: 'not_owner' });
    await agent.call('plan_mega', { key: 'M-3', title: 'mcp', phases: [{ id: 1, name: 'held by mcp' }] });
    const mcpClaim = await agent.call<{ claimed: boolean; token: string }>('claim_phase', { mega: 'M-3', phase: 1 });
    expect(mcpClaim.claimed).toBe(true);
    for (const env of [a.env, b.env]) {
      const r = await json(['complete', '--token', mcpClaim.token, '--mega', 'M-3', '--phase', '1'], env);
      expect(r.exitCode).toBe(1);
      expect(r.out).toMatchObject({ completed: false, reason: 'not_owner' });
    }
    // `call` acts as the key's session too, and is refused the same way
    const call = await json(['call', 'release_phase', '--args', JSON.stringify({ mega: 'M-3', phase: 1, token: mcpClaim.token, reason: 'mine now' })], a.env);
    expect(call.exitCode).toBe(1);
    expect(call.out).toMatchObject({ released: false, reason: 'not_owner' });
    const board = await json(['board', 'M-3']);
    expect((board.out.megas as { phases: { owner: string }[] }[])[0]?.phases[0]?.owner).not.toBe(a.instance);

    // session end parks A's claim; the key is then dead, and a resume adopts the claim with a fresh token
    const end = await json(['session', 'end', '--summary', 'parking'], a.env);
    expect(end.exitCode, end.stderr).toBe(0);
    expect(end.out).toMatchObject({ ended: true, kept: [{ mega: 'M-1', id: 3 }] });
    const ended = await cli(['heartbeat', '--token', tokenA], a.env);
    expect(ended.exitCode).toBe(2);
    expect(ended.stderr).toMatch(new RegExp(`FACTORY_SESSION: session ${a.instance} ended at .*session start --resume ${a.instance}`));
    const resumed = await json(['session', 'start', '--agent', 'alice-again', '--resume', a.instance]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.out).toMatchObject({ key: expect.stringMatching(/^fs_/), resumed: [{ from: a.instance, phases: [{ mega: 'M-1', id: 3, token: expect.any(String) }] }] });
    keys.push(resumed.out.key as string);
    const fresh = (resumed.out.resumed as { phases: { token: string }[] }[])[0]?.phases[0]?.token as string;
    expect(fresh).not.toBe(tokenA);
    const c = { FACTORY_SESSION: resumed.out.key as string };
    expect((await json(['heartbeat', '--token', tokenA, '--mega', 'M-1', '--phase', '3'], c)).out).toMatchObject({ ok: false, reason: 'stale_token' });
    const complete = await json(['complete', '--token', fresh], c);
    expect(complete.exitCode, complete.stderr).toBe(0);
    expect(complete.out).toMatchObject({ completed: true });
    // A's key stays dead after the adoption
    expect((await cli(['claim'], a.env)).stderr).toMatch(new RegExp(`FACTORY_SESSION: session ${a.instance} was taken over by `));

    // the MCP agent goes away holding its claim: interrupted, and a CLI session adopts it as session_start does
    await agent.close();
    agent = undefined;
    const adopted = await json(['session', 'start', '--resume', mcp.instance], {});
    expect(adopted.exitCode, adopted.stderr).toBe(0);
    expect(adopted.out).toMatchObject({ resumed: [{ from: mcp.instance, phases: [{ mega: 'M-3', id: 1, token: expect.any(String) }] }] });
    keys.push(adopted.out.key as string);
    const took = (adopted.out.resumed as { phases: { token: string }[] }[])[0]?.phases[0]?.token as string;
    const finished = await json(['complete', '--token', took], { FACTORY_SESSION: adopted.out.key as string });
    expect(finished.exitCode, finished.stderr).toBe(0);
    expect(finished.out).toMatchObject({ completed: true, phase: { mega: 'M-3', id: 1 } });
  });

  it('a key is in no log, no answer but its own, and not in the database file: only its SHA-256', async () => {
    const log = await cli(['log', '--json', '--limit', '10000']);
    const status = await cli(['status', '--json']);
    const exported = path.join(dir, 'state');
    expect((await cli(['export', '--dir', exported])).exitCode).toBe(0);
    const files = fs.readdirSync(exported, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const bytes = Buffer.concat(
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('factory.db'))
        .map((f) => fs.readFileSync(path.join(dir, f))),
    );
    expect(keys.length).toBe(4);
    for (const key of keys) {
      expect(log.stdout).not.toContain(key);
      expect(status.stdout).not.toContain(key);
      for (const f of files) expect(fs.readFileSync(path.join(f.parentPath, f.name), 'utf8')).not.toContain(key);
      expect(bytes.includes(Buffer.from(key))).toBe(false);
      expect(bytes.includes(Buffer.from(key.slice(3)))).toBe(false);
      expect(bytes.includes(Buffer.from(createHash('sha256').update(key).digest('hex')))).toBe(true);
    }
    expect(log.stdout).toMatch(/SESSION-START t\d+ \(cli, alice\)/);
  });
});
