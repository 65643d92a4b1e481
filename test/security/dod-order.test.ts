import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckDodResult } from '../../schemas/dod.js';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/server.js';
import { CLI, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

type Dod = CheckDodResult;
type Check = Dod['checks'][number];

const node = process.execPath;
// The build takes a moment, then writes dist/lib.js (git-ignored) from src/lib.js and counts itself;
// a source holding BROKEN does not build. The tests import the build output, as many projects' do.
const BUILD = `const fs = require('fs');
setTimeout(() => {
  const src = fs.readFileSync('src/lib.js', 'utf8');
  if (src.includes('BROKEN')) { console.error('error: src/lib.js does not build'); process.exit(1); }
  fs.mkdirSync('dist', { recursive: true });
  fs.writeFileSync('dist/lib.js', src);
  fs.appendFileSync('dist/builds.log', 'x');
}, 700);
`;
const TEST = `const { add } = require('./dist/lib.js');
if (add(2, 3) !== 5) { console.error('FAIL: add(2, 3) is ' + add(2, 3)); process.exit(1); }
console.log('ok');
`;
const GOOD = 'exports.add = (a, b) => a + b;\n';

describe('DoD order: the tests run on the build of this tree, and a failure is never cached as a pass', () => {
  let repo: TestRepo;
  let db: string;
  let agent: StdioAgent;
  const builds = () => (fs.existsSync(path.join(repo.dir, 'dist/builds.log')) ? fs.readFileSync(path.join(repo.dir, 'dist/builds.log'), 'utf8').length : 0);
  const dod = (args: Record<string, unknown> = {}) => agent.call<Dod>('check_dod', { only: ['compiles', 'tests', 'no_regressions'], ...args });
  const by = (r: Dod, id: string) => r.checks.find((c) => c.id === id) as Check;

  beforeAll(async () => {
    repo = makeRepo();
    repo.commit('project', {
      '.gitignore': 'dist/\n.factory/\n',
      'build.js': BUILD,
      'test.js': TEST,
      'src/lib.js': GOOD,
      'factory.config.json': JSON.stringify({
        dod: { github: 'off', secrets: 'skip', components: [{ name: 'app', commands: { compiles: [node, 'build.js'], tests: [node, 'test.js'], lint: false, format: false } }] },
      }),
    });
    db = path.join(tempDir('factory-dod-order-'), 'factory.db');
    agent = await stdioAgent(db, { cwd: repo.dir, env: { GITHUB_TOKEN: '' } });
  });
  afterAll(async () => {
    await agent?.close();
    repo?.remove();
    fs.rmSync(path.dirname(db), { recursive: true, force: true });
  });

  it('a first run with no build output yet: the tests wait for the build and pass', async () => {
    expect(fs.existsSync(path.join(repo.dir, 'dist'))).toBe(false);
    const r = await dod();
    expect(
      r.checks.map((c) => [c.id, c.status]),
      JSON.stringify(r.checks),
    ).toEqual([
      ['compiles', 'pass'],
      ['tests', 'pass'],
      ['no_regressions', 'pass'],
    ]);
    expect(builds()).toBe(1);
  });

  it('a bug in the source fails the tests (not a pass against the old build), and the second run is no cached pass either', async () => {
    repo.write({ 'src/lib.js': 'exports.add = (a, b) => a - b;\n' });
    const first = await dod();
    expect(by(first, 'compiles').status).toBe('pass');
    expect(by(first, 'tests')).toMatchObject({ status: 'fail', cached: false });
    expect(by(first, 'tests').detail).toMatch(/FAIL: add\(2, 3\) is -1/);
    const second = await dod();
    expect(by(second, 'tests')).toMatchObject({ status: 'fail', cached: false });
    expect(second.cached).toBe(false);
    expect(second.message).not.toMatch(/\(cached\)/);
    // What `npm test` says by hand agrees with the DoD.
    expect(spawnSync(node, ['test.js'], { cwd: repo.dir }).status).toBe(1);
  });

  it('a build that fails: the tests are not run and say why; nothing is cached as a pass', async () => {
    repo.write({ 'src/lib.js': `// BROKEN\n${GOOD}` });
    const before = builds();
    for (let i = 0; i < 2; i++) {
      const r = await dod();
      expect(by(r, 'compiles').status).toBe('fail');
      expect(by(r, 'tests')).toMatchObject({ status: 'fail', cached: false });
      expect(by(r, 'tests').detail).toMatch(/^not run: compiles failed/);
      expect(by(r, 'no_regressions').detail).toMatch(/^not run: compiles failed/);
      expect(r.passed).toBe(false);
    }
    expect(builds()).toBe(before); // the old build output stayed, and no test ran against it
  });

  it('a passing tree is cached; fresh: true and `factory-mcp dod --no-cache` run everything again', async () => {
    repo.write({ 'src/lib.js': GOOD }); // back to the tree of the first run, which passed
    const n = builds();
    const cached = await dod();
    expect(cached.cached).toBe(true);
    expect(cached.checks.every((c) => c.status === 'pass' && c.cached === true)).toBe(true);
    expect(builds()).toBe(n);

    const fresh = await dod({ fresh: true });
    expect(fresh.cached).toBe(false);
    expect(fresh.checks.every((c) => c.status === 'pass' && c.cached === false)).toBe(true);
    expect(builds()).toBe(n + 1);

    const cli = spawnSync(node, [CLI, 'dod', '--only', 'compiles,tests,no_regressions', '--no-cache', '--json'], {
      cwd: repo.dir,
      encoding: 'utf8',
      env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent', GITHUB_TOKEN: '' },
      timeout: 60_000,
    });
    const out = JSON.parse(cli.stdout) as Dod;
    expect(out.cached, cli.stderr).toBe(false);
    expect(out.checks.map((c) => [c.id, c.status, c.cached])).toEqual([
      ['compiles', 'pass', false],
      ['tests', 'pass', false],
      ['no_regressions', 'pass', false],
    ]);
    expect(builds()).toBe(n + 2);
    const plain = spawnSync(node, [CLI, 'dod', '--only', 'compiles,tests', '--json'], {
      cwd: repo.dir,
      encoding: 'utf8',
      env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' },
      timeout: 60_000,
    });
    expect((JSON.parse(plain.stdout) as Dod).cached).toBe(true); // without the flag the cache answers
  });

  it('when the tests must run, the build they wait for runs too (never its cached verdict over stale output)', async () => {
    repo.write({ 'notes.txt': 'a new tree\n' });
    expect(by(await dod({ only: ['compiles'] }), 'compiles')).toMatchObject({ status: 'pass', cached: false }); // cached for this tree
    // The build output goes (git-ignored: the tree hash does not change); the tests have no verdict for this tree yet.
    fs.rmSync(path.join(repo.dir, 'dist'), { recursive: true, force: true });
    const r = await dod({ only: ['tests'] });
    expect(by(r, 'tests')).toMatchObject({ status: 'pass', cached: false });
    expect(builds()).toBe(1); // the build ran again before the tests
  });

  it('after: [] in the config starts the tests with the build, as before (the old race, now a choice)', async () => {
    const cfg = JSON.parse(fs.readFileSync(path.join(repo.dir, 'factory.config.json'), 'utf8')) as { dod: { components: { after?: string[] }[] } };
    cfg.dod.components[0]!.after = [];
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify(cfg));
    fs.rmSync(path.join(repo.dir, 'dist'), { recursive: true, force: true });
    const r = spawnSync(node, [CLI, 'dod', '--only', 'compiles,tests', '--json'], { cwd: repo.dir, encoding: 'utf8', env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' }, timeout: 60_000 });
    const out = JSON.parse(r.stdout) as Dod;
    expect(out.checks.map((c) => [c.id, c.status])).toEqual([
      ['compiles', 'pass'],
      ['tests', 'fail'],
    ]); // dist/lib.js did not exist yet
  });
});
