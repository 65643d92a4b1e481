import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSampleRepo, sampleConfig, sh } from '../../bench/dod-sample.js';
import type { CheckDodResult } from '../../schemas/dod.js';
import { makeRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/server.js';
import { runCliSync, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

type Dod = CheckDodResult;

const init = (dir: string) => runCliSync(['init'], { cwd: dir, timeoutMs: 30_000 });
const written = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'factory.config.json'), 'utf8')) as { dod: Record<string, unknown> };

describe('init writes dod.github from the remotes, asking nothing', () => {
  it('"off" without a GitHub remote (none, or one elsewhere); "on" with one', () => {
    const repo = makeRepo();
    try {
      expect(init(repo.dir).status).toBe(0);
      expect(written(repo.dir).dod.github).toBe('off');
      repo.git('remote', 'add', 'origin', 'https://gitlab.example.com/acme/app.git');
      expect(init(repo.dir).status).toBe(0); // kept: an existing config is not overwritten
      expect(written(repo.dir).dod.github).toBe('off');
      fs.rmSync(path.join(repo.dir, 'factory.config.json'));
      expect(init(repo.dir).status).toBe(0);
      expect(written(repo.dir).dod.github).toBe('off');
      repo.git('remote', 'add', 'upstream', 'git@github.com:acme/app.git');
      fs.rmSync(path.join(repo.dir, 'factory.config.json'));
      expect(init(repo.dir).status).toBe(0);
      expect(written(repo.dir).dod.github).toBe('on');
    } finally {
      repo.remove();
    }
  });
});

describe('a local-only repository can pass the DoD (dod.github "off")', () => {
  let repo: { dir: string };
  let db: string;
  let agent: StdioAgent;

  beforeAll(async () => {
    repo = makeSampleRepo();
    sh(repo.dir, 'remote', 'remove', 'origin'); // no GitHub at all
    expect(init(repo.dir).status).toBe(0);
    const cfg = written(repo.dir);
    expect(cfg.dod.github).toBe('off');
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ ...cfg, dod: { ...cfg.dod, ...sampleConfig() } }));
    fs.appendFileSync(path.join(repo.dir, '.git', 'info', 'exclude'), '.factory/\n.mcp.json\n.cursor/\nfactory.config.json\n');
    db = path.join(tempDir('factory-dod-local-'), 'factory.db');
    agent = await stdioAgent(db, { cwd: repo.dir, env: { GITHUB_TOKEN: 'would-be-used-if-on', FACTORY_GITHUB_API_URL: 'http://127.0.0.1:9' } });
    await agent.call('session_start', {});
    await agent.call('plan_mega', { key: 'L-1', title: 'Local', phases: [{ id: 1, name: 'square' }] });
    const { token } = await agent.call<{ token: string }>('claim_phase', { mega: 'L-1', phase: 1 });
    await agent.call('checkpoint', { mega: 'L-1', phase: 1, token, progress: { done: ['square'], next: [] } });
    await agent.call('memory', { op: 'append', section: 'decisions', text: 'square via mul' });
  });
  afterAll(async () => {
    await agent?.close();
    if (repo) fs.rmSync(repo.dir, { recursive: true, force: true });
    if (db) fs.rmSync(path.dirname(db), { recursive: true, force: true });
  });

  it('passes with pr_created and ci_green skipped by config, and the score says so', async () => {
    const r = await agent.call<Dod>('check_dod', { mega: 'L-1', phase: 1 });
    const notOk = r.checks.filter((c) => c.status !== 'pass' && !(c.status === 'skip' && ['pr_created', 'ci_green'].includes(c.id)));
    expect(notOk, JSON.stringify(r.checks)).toEqual([]);
    expect(r).toMatchObject({ passed: true, score: '8/8 passed, 2 skipped by config' });
    for (const id of ['pr_created', 'ci_green']) {
      expect(r.checks.find((c) => c.id === id)).toMatchObject({ status: 'skip', detail: expect.stringMatching(/skipped by config: dod\.github is "off"/) });
    }
    expect(r.message).toMatch(/2 skipped by config/);
  });

  it('a failing check still fails it: skipping GitHub is not partial credit', async () => {
    fs.appendFileSync(path.join(repo.dir, 'src/types.ts'), 'export const bad: number = "x";\n');
    try {
      const r = await agent.call<Dod>('check_dod', { mega: 'L-1', phase: 1 });
      expect(r).toMatchObject({ passed: false, score: '5/8 passed, 2 skipped by config' }); // compiles, then tests and no_regressions not run
    } finally {
      sh(repo.dir, 'checkout', '-q', '--', 'src/types.ts');
    }
  });
});
