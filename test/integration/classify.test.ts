import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { harness, snapshot, textOf, type Agent, type Harness } from '../helpers/server.js';
import { makeRepo, type TestRepo } from '../helpers/git.js';

interface Result {
  level: string;
  action: string;
  reasons: { level: string; rule: string; files: string[]; message: string }[];
  stats: { files: number; additions: number; deletions: number; renames: number };
  base?: string;
  head?: string | null;
  stored?: boolean;
  reason?: string;
  message: string;
}

const pkg = (deps: Record<string, string>) => `${JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }, null, 2)}\n`;
const bigFile = (op: string) => `function compute(values) {\n  let total = 0;\n${Array.from({ length: 200 }, (_, i) => `  total ${op} values[${i}];`).join('\n')}\n  return total;\n}\n`;

let repo: TestRepo;
let h: Harness;
let a: Agent;
const sha: Record<string, string> = {};

beforeAll(async () => {
  repo = makeRepo();
  sha.base = repo.commit('base', {
    'README.md': '# app\n',
    'src/app.ts': 'export function main() {\n  return 1;\n}\n',
    'src/legacy.ts': 'function old() {\n  return 0;\n}\n',
    'src/old-name.ts': 'const x = 1;\n',
    'src/format.ts': 'function f(a, b) {\n  return a + b;\n}\n',
    'src/big.ts': bigFile('+='),
    'package.json': pkg({ zod: '^4.0.0' }),
    'package-lock.json': '{"lockfileVersion": 3, "zod": "4.0.0"}\n',
  });
  sha.docs = repo.commit('docs only', { 'README.md': '# app\n\nHow to run it.\n', 'docs/user guide.md': 'Spaces in the name.\n' });
  sha.tests = repo.commit('test only', { 'test/app.test.ts': "import { main } from '../src/app';\nit('works', () => expect(main()).toBe(1));\n" });
  sha.endpoint = repo.commit('new endpoint', { 'src/routes/users.ts': "export function listUsers(req, res) {\n  res.json([]);\n}\nrouter.get('/users', listUsers);\n" });
  sha.migration = repo.commit('migration', { 'db/migrations/002_add_users.sql': 'CREATE TABLE users (id INTEGER PRIMARY KEY);\n' });
  sha.bump = repo.commit('dependency bump', { 'package.json': pkg({ zod: '^4.1.0' }), 'package-lock.json': '{"lockfileVersion": 3, "zod": "4.1.0"}\n' });
  sha.newdep = repo.commit('new dependency', { 'package.json': pkg({ zod: '^4.1.0', 'left-pad': '^1.3.0' }), 'package-lock.json': '{"lockfileVersion": 3, "zod": "4.1.0", "left-pad": "1.3.0"}\n' });
  repo.git('mv', 'src/old-name.ts', 'src/new-name.ts');
  sha.rename = repo.commit('pure rename');
  sha.whitespace = repo.commit('whitespace only', { 'src/format.ts': 'function f(a, b)  {\n    return a + b;\n}\n' });
  sha.refactor = repo.commit('400-line refactor', { 'src/big.ts': bigFile('-=') });
  sha.binary = repo.commit('binary file', { 'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3]) });
  sha.deleted = repo.commit('deleted file', { 'src/legacy.ts': null });
  sha.symlink = repo.commit('symlink', { current: { symlink: 'src/app.ts' } });
  h = await harness();
  a = await h.connect({ root: repo.dir });
});

afterAll(async () => {
  await h.close();
  repo.remove();
});

const range = (name: string, extra: Record<string, unknown> = {}) => a.call<Result>('classify_change', { base: `${sha[name]}~1`, head: sha[name], ...extra });
const fired = (r: Result) => r.reasons.map((x) => `${x.level}:${x.rule}`).sort();

describe('classify_change on real git ranges', () => {
  it('docs only (one name with spaces) → ship, merge_now', async () => {
    const r = await range('docs');
    expect(r).toMatchObject({ level: 'ship', action: 'merge_now', stats: { files: 2, additions: 3, deletions: 0, renames: 0 }, base: sha.base, head: sha.docs });
    expect(r.reasons).toEqual([expect.objectContaining({ rule: 'docs', files: ['README.md', 'docs/user guide.md'] })]);
  });

  it('test only → show', async () => {
    expect(fired(await range('tests'))).toEqual(['show:tests']);
  });

  it('a new endpoint → ask, naming the file and the line', async () => {
    const r = await range('endpoint');
    expect(r.level).toBe('ask');
    expect(r.reasons[0]).toMatchObject({ level: 'ask', rule: 'exported_api', files: ['src/routes/users.ts'] });
    expect(r.reasons[0]?.message).toContain('export function listUsers');
  });

  it('a migration → ask', async () => {
    expect(fired(await range('migration'))).toEqual(['ask:migrations']);
  });

  it('a dependency bump with its lockfile → ship; a new dependency → ask', async () => {
    const bump = await range('bump');
    expect(bump.level).toBe('ship');
    expect(bump.reasons.map((x) => x.message)).toContain('zod bumped in package.json');
    const fresh = await range('newdep');
    expect(fresh.level).toBe('ask');
    expect(fresh.reasons[0]).toMatchObject({ rule: 'new_dependency', message: 'new dependency left-pad in package.json' });
  });

  it('a pure rename → show, counted as a rename', async () => {
    const r = await range('rename');
    expect(r).toMatchObject({ level: 'show', stats: { files: 1, additions: 0, deletions: 0, renames: 1 } });
    expect(r.reasons).toEqual([expect.objectContaining({ rule: 'rename_only', files: ['src/new-name.ts'], message: 'src/old-name.ts → src/new-name.ts' })]);
  });

  it('whitespace only → show', async () => {
    expect(fired(await range('whitespace'))).toEqual(['show:whitespace_only']);
  });

  it('a 400-line refactor → ask with too_large (split it), tier xl; the refactor intent does not lower it', async () => {
    const r = await range('refactor', { intent: 'refactor' });
    expect(r).toMatchObject({ level: 'ask', stats: { additions: 200, deletions: 200 }, size: { lines: 400, tier: 'xl' } });
    expect(fired(r)).toEqual(['ask:intent', 'ask:too_large', 'show:other']);
    expect(r.reasons.find((x) => x.rule === 'too_large')?.message).toMatch(/^400 changed lines/);
  });

  it('a "refactor" that adds an endpoint → ask, the intent reason says the diff wins', async () => {
    const r = await range('endpoint', { intent: 'refactor' });
    expect(r.level).toBe('ask');
    expect(r.reasons.find((x) => x.rule === 'intent')?.message).toMatch(/stated intent "refactor" but the diff adds exported API \(src\/routes\/users.ts\): the diff wins/);
  });

  it('a binary file → show (binary), not counted in lines', async () => {
    const r = await range('binary');
    expect(r).toMatchObject({ level: 'show', stats: { files: 1, additions: 0, deletions: 0 } });
    expect(fired(r)).toEqual(['show:binary']);
  });

  it('a deleted file → show, the reason says deleted', async () => {
    const r = await range('deleted');
    expect(r).toMatchObject({ level: 'show', stats: { files: 1, additions: 0, deletions: 3 } });
    expect(r.reasons[0]?.message).toBe('src/legacy.ts deleted');
  });

  it('a symlink → ask', async () => {
    expect(fired(await range('symlink'))).toEqual(['ask:symlink']);
  });

  it('the whole branch at once: the highest level wins, stats add up', async () => {
    const r = await a.call<Result>('classify_change', { base: sha.base, head: sha.symlink });
    expect(r.level).toBe('ask');
    expect(r.stats.files).toBe(13);
    expect(r.stats.renames).toBe(1);
  });
});

describe('classify_change on the working tree', () => {
  it('defaults to the merge base with main and includes uncommitted and untracked files', async () => {
    const w = makeRepo();
    try {
      const base = w.commit('base', { 'README.md': '# x\n', 'src/a.ts': 'const a = 1;\n' });
      w.git('checkout', '-q', '-b', 'feature');
      w.commit('docs', { 'docs/a.md': 'a\n' });
      w.write({ 'src/a.ts': 'const a = 2;\n', 'notes/untracked file.md': 'new\n' });
      const b = await h.connect({ root: w.dir });
      const r = await b.call<Result>('classify_change', { cwd: 'src' });
      expect(r).toMatchObject({ level: 'show', base, head: null, stats: { files: 3, additions: 3, deletions: 1 } });
      expect(r.reasons.flatMap((x) => x.files).sort()).toEqual(['docs/a.md', 'notes/untracked file.md', 'src/a.ts']);
    } finally {
      w.remove();
    }
  });
});

describe('classify_change without git', () => {
  it('classifies a file list by paths and counts', async () => {
    const r = await a.call<Result>('classify_change', {
      files: [
        { path: 'docs/a.md', additions: 10, deletions: 2 },
        { path: '.github/workflows/ci.yml', additions: 1, deletions: 0 },
      ],
    });
    expect(r).toMatchObject({ level: 'ask', stats: { files: 2, additions: 11, deletions: 2 } });
    expect(r.base).toBeUndefined();
  });

  it('classifies a unified diff', async () => {
    const diff = repo.git('diff', `${sha.endpoint}~1`, sha.endpoint as string);
    const r = await a.call<Result>('classify_change', { diff });
    expect(r.level).toBe('ask');
    expect(r.reasons[0]?.rule).toBe('exported_api');
  });
});

describe('storing with a claimed phase', () => {
  it('stores the verdict with the phase and logs a classify operation; a stale token is refused, not stored', async () => {
    await a.call('plan_mega', { key: 'CAB-7', title: 'users', phases: [{ id: 1, name: 'endpoint' }] });
    const claim = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-7', phase: 1 });
    const r = await range('endpoint', { mega: 'CAB-7', phase: 1, token: claim.token });
    expect(r).toMatchObject({ stored: true, level: 'ask' });
    const saved = await h.store.changes.latest('CAB-7', 1);
    expect(saved).toMatchObject({ mega: 'CAB-7', phase: '1', level: 'ask', base: sha.tests, head: sha.endpoint });
    expect(saved?.reasons[0]?.rule).toBe('exported_api');
    const op = (await h.store.operations.recent(1))[0];
    expect(op).toMatchObject({ kind: 'classify', mega: 'CAB-7', phase: '1' });
    expect(op?.message).toMatch(/classified CAB-7\/1 as ASK/);

    const res = await a.client.readResource({ uri: 'factory://changes/CAB-7' });
    const listed = JSON.parse((res.contents[0] as { text: string }).text) as { phase: string; level: string }[];
    expect(listed).toEqual([expect.objectContaining({ phase: '1', level: 'ask' })]);

    const before = await snapshot(h.store);
    const stale = await range('docs', { mega: 'CAB-7', phase: 1, token: 'fx9-wrong' });
    expect(stale).toMatchObject({ level: 'ship', stored: false, reason: 'stale_token' });
    expect(await snapshot(h.store)).toBe(before);
  });
});

describe('bad input is a clear error naming the field, and writes nothing', () => {
  const err = async (args: Record<string, unknown>) => {
    const before = await snapshot(h.store);
    const r = await a.raw('classify_change', args);
    expect(r.isError).toBe(true);
    expect(await snapshot(h.store)).toBe(before);
    return textOf(r);
  };

  it('a range that does not exist names base or head', async () => {
    expect(await err({ base: 'no-such-branch', head: sha.docs })).toMatch(/base: no commit "no-such-branch"/);
    expect(await err({ base: sha.base, head: 'deadbeef' })).toMatch(/head: no commit "deadbeef"/);
    expect(await err({ base: '--output=/tmp/x' })).toMatch(/base: a revision/);
    expect(await err({ head: 'a b' })).toMatch(/head: a revision/);
  });

  it('a cwd outside the repository names cwd', async () => {
    expect(await err({ cwd: '..' })).toMatch(/cwd: .* is outside the repository/);
    expect(await err({ cwd: 'no/such/dir' })).toMatch(/cwd: .* does not exist/);
  });

  it('a malformed diff names diff', async () => {
    expect(await err({ diff: '--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-only one line\n' })).toMatch(/diff: malformed unified diff: .*hunk/);
    expect(await err({ diff: 'hello' })).toMatch(/diff: malformed unified diff: no file sections/);
  });

  it('two sources at once, or half a phase reference', async () => {
    expect(await err({ diff: 'x', files: [{ path: 'a', additions: 1, deletions: 0 }] })).toMatch(/diff: give only one of/);
    expect(await err({ base: 'main', diff: 'x' })).toMatch(/diff: give only one of/);
    expect(await err({ files: [{ path: 'a', additions: 1, deletions: 0 }], mega: 'CAB-7' })).toMatch(/phase: mega, phase and token go together/);
    expect(await err({ files: [{ path: 'a', additions: -1, deletions: 0 }] })).toMatch(/files\[0\]\.additions/);
    expect(await err({ files: [{ path: 'a', additions: 1.5, deletions: 0 }] })).toMatch(/files\[0\]\.additions: a whole number/);
    expect(await err({ files: [] })).toMatch(/files: 1 to/);
    expect(await err({ files: [{ path: 'a', additions: 1, deletions: 0 }], mega: 'NOPE', phase: 1, token: 't' })).toMatch(/mega: unknown MEGA/);
  });

  it('a repository without main/master and no base names base', async () => {
    const w = makeRepo({ branch: 'trunk' });
    try {
      const b = await h.connect({ root: w.dir });
      const r = await b.raw('classify_change', {});
      expect(textOf(r)).toMatch(/base: no default branch .* pass base/);
    } finally {
      w.remove();
    }
  });

  it('a root that is not a git repository names cwd', async () => {
    const dir = fs.mkdtempSync(path.join(h.dir, 'plain-'));
    const b = await h.connect({ root: dir });
    expect(textOf(await b.raw('classify_change', {}))).toMatch(/cwd: .* is not inside a git repository/);
  });
});

describe('rules in factory.config.json', () => {
  it('an invalid rule is a configuration error naming it', () => {
    expect(() =>
      parseConfig({
        changes: {
          rules: [
            { id: 'ok', level: 'ask', paths: ['x/**'] },
            { id: 'bad', level: 'ask', pattern: '(' },
          ],
        },
      }),
    ).toThrow(/changes\.rules\[1\]\.pattern: bad regular expression/);
    expect(() => parseConfig({ changes: { rules: [{ id: 'g', level: 'ask', paths: ['{x'] }] } })).toThrow(/changes\.rules\[0\]\.paths\[0\]: bad glob/);
    expect(() => parseConfig({ changes: { rules: [{ id: 'l', level: 'urgent', paths: ['x'] }] } })).toThrow(/changes\.rules\[0\]\.level/);
    expect(() => parseConfig({ changes: { remove: ['nope'] } })).toThrow(/changes\.remove\[0\]: no rule with id "nope"/);
  });

  it('configured rules change the verdict', async () => {
    const h2 = await harness({
      config: {
        changes: {
          rules: [
            { id: 'docs', level: 'show' },
            { id: 'assets', level: 'ship', paths: ['assets/**'] },
          ],
          remove: ['binary'],
        },
      },
    });
    try {
      const b = await h2.connect({ root: repo.dir });
      expect((await b.call<Result>('classify_change', { base: `${sha.docs}~1`, head: sha.docs })).level).toBe('show');
      expect((await b.call<Result>('classify_change', { base: `${sha.binary}~1`, head: sha.binary })).level).toBe('ship');
    } finally {
      await h2.close();
    }
  });
});
