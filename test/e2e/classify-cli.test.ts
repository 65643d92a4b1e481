import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/stdio.js';
import { FakeGitHub } from '../fakes/github.js';
import { GIT_ENV, makeRepo, type TestRepo } from '../helpers/git.js';

/** Runs the built CLI as a real child process; GitHub settings only from `env`, never the machine's. */
async function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  const base: NodeJS.ProcessEnv = { ...GIT_ENV, FACTORY_LOG: 'silent' };
  delete base.GITHUB_TOKEN;
  delete base.GITHUB_HEAD_REF;
  delete base.FACTORY_GITHUB_API_URL;
  const r = await runCli(['classify', ...args], { cwd, env: { ...base, ...env } });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

let repo: TestRepo;
let gh: FakeGitHub;
const sha: Record<string, string> = {};

beforeAll(async () => {
  repo = makeRepo();
  sha.base = repo.commit('base', { 'README.md': '# app\n', 'src/app.ts': 'function main() {\n  return 1;\n}\n' });
  sha.docs = repo.commit('docs', { 'README.md': '# app\n\nUsage.\n' });
  sha.tests = repo.commit('tests', { 'test/app.test.ts': "it('works', () => {});\n" });
  sha.ci = repo.commit('ci', { '.github/workflows/ci.yml': 'on: push\n' });
  repo.git('remote', 'add', 'origin', 'git@github.com:acme/app.git');
  gh = await new FakeGitHub().start();
});

afterAll(async () => {
  await gh.stop();
  repo.remove();
});

describe('factory-mcp classify', () => {
  it('exits 0 for ship, 10 for show, 20 for ask, printing the verdict and reasons', async () => {
    const ship = await cli(repo.dir, ['--base', sha.base as string, '--head', sha.docs as string]);
    expect(ship.code).toBe(0);
    expect(ship.stdout).toMatch(/^SHIP \(merge_now\): 1 file, \+2 -0\n\s+ship\s+docs\s+/);
    const show = await cli(repo.dir, ['--base', sha.docs as string, '--head', sha.tests as string]);
    expect(show.code).toBe(10);
    expect(show.stdout).toMatch(/show\s+tests/);
    const ask = await cli(path.join(repo.dir, 'src'), ['--base', sha.tests as string, '--head', sha.ci as string]);
    expect(ask.code).toBe(20);
    expect(ask.stdout).toMatch(/ASK \(wait_for_human\)[\s\S]*ask\s+ci\s+/);
  });

  it('--json prints the tool result; the default range is the merge base → working tree', async () => {
    const w = makeRepo();
    try {
      const base = w.commit('base', { 'a.md': 'x\n' });
      w.write({ 'db/migrations/001.sql': 'CREATE TABLE t (id INT);\n' }); // untracked
      const r = await cli(w.dir, ['--json', '--intent', 'docs']);
      expect(r.code).toBe(20);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ level: 'ask', action: 'wait_for_human', base, head: null, stats: { files: 1, additions: 1 } });
      expect(out.reasons.map((x: { rule: string }) => x.rule).sort()).toEqual(['intent', 'migrations']);
    } finally {
      w.remove();
    }
  });

  it('bad input exits 2 with a message naming the field', async () => {
    const r = await cli(repo.dir, ['--base', 'nope', '--head', sha.docs as string]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/factory-mcp classify: base: no commit "nope"/);
    const i = await cli(repo.dir, ['--intent', 'party']);
    expect(i.code).toBe(2);
    expect(i.stderr).toMatch(/--intent: intent: /);
    const c = await cli(repo.dir, ['--base', sha.base as string], {});
    expect(c.code).toBe(20); // sanity: a valid call on the same repo still works
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ changes: { rules: [{ id: 'x', level: 'ask', pattern: '[' }] } }));
    try {
      const bad = await cli(repo.dir, ['--base', sha.base as string]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/changes\.rules\[0\]\.pattern: bad regular expression/);
    } finally {
      fs.rmSync(path.join(repo.dir, 'factory.config.json'));
    }
  });

  it('prints usage with the exit codes on --help', async () => {
    const r = await cli(repo.dir, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0 ship .* 10 show .* 20 ask/);
  });
});

describe('factory-mcp classify --label', () => {
  it('puts exactly one level label on the branch PR through octokit, leaving other labels alone', async () => {
    repo.git('checkout', '-q', '-b', 'feature');
    try {
      gh.pulls.set('acme/app', [{ number: 7, head: { ref: 'feature', sha: sha.ci as string }, labels: ['show', 'needs-design'] }]);
      gh.requests.length = 0;
      const r = await cli(repo.dir, ['--base', sha.tests as string, '--head', sha.ci as string, '--label'], gh.env());
      expect(r.stderr).toBe('');
      expect(r.code).toBe(20);
      expect(r.stdout).toMatch(/labelled acme\/app#7 ask \(removed show\)/);
      expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /repos/acme/app/pulls', 'DELETE /repos/acme/app/issues/7/labels/show', 'POST /repos/acme/app/issues/7/labels']);
      expect(gh.requests[0]?.query).toMatchObject({ head: 'acme:feature', state: 'open' });
      expect(gh.requests[2]?.body).toEqual({ labels: ['ask'] });
      expect(gh.requests.every((q) => q.headers.authorization === 'token test-token')).toBe(true);
      expect(gh.pulls.get('acme/app')?.[0]?.labels).toEqual(['needs-design', 'ask']);

      gh.requests.length = 0;
      const again = await cli(repo.dir, ['--base', sha.tests as string, '--head', sha.ci as string, '--label', '--json'], gh.env());
      expect(again.code).toBe(20);
      expect(JSON.parse(again.stdout).label).toMatchObject({ number: 7, added: [], removed: [] });
      expect(gh.requests.map((q) => q.method)).toEqual(['GET']);
    } finally {
      repo.git('checkout', '-q', 'main');
    }
  });

  it('takes owner/repo from the config github section', async () => {
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ github: { owner: 'other', repo: 'fork' } }));
    try {
      gh.pulls.set('other/fork', [{ number: 3, head: { ref: 'main', sha: sha.docs as string } }]);
      gh.requests.length = 0;
      const r = await cli(repo.dir, ['--base', sha.base as string, '--head', sha.docs as string, '--label'], gh.env());
      expect(r.code).toBe(0);
      expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /repos/other/fork/pulls', 'POST /repos/other/fork/issues/3/labels']);
      expect(gh.requests[1]?.body).toEqual({ labels: ['ship'] });
    } finally {
      fs.rmSync(path.join(repo.dir, 'factory.config.json'));
    }
  });

  it('exits 3 with the reason when it cannot label (no token, no pull request), still printing the verdict', async () => {
    const noToken = await cli(repo.dir, ['--base', sha.base as string, '--head', sha.docs as string, '--label']);
    expect(noToken.code).toBe(3);
    expect(noToken.stdout).toMatch(/^SHIP/);
    expect(noToken.stderr).toMatch(/--label: GITHUB_TOKEN is not set/);
    gh.pulls.set('acme/app', []);
    const noPr = await cli(repo.dir, ['--base', sha.base as string, '--head', sha.docs as string, '--label'], gh.env());
    expect(noPr.code).toBe(3);
    expect(noPr.stderr).toMatch(/no open pull request for branch main in acme\/app/);
    const wrong = await cli(repo.dir, ['--base', sha.base as string, '--head', sha.docs as string, '--label'], { ...gh.env(), GITHUB_TOKEN: 'wrong-token-xyz' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/GitHub refused \(HTTP 401\)/);
    expect(wrong.stderr + wrong.stdout).not.toContain('wrong-token-xyz');
  });
});
