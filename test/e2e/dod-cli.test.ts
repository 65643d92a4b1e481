import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliSync } from '../helpers/stdio.js';
import { makeSampleRepo, sampleConfig } from '../../bench/dod-sample.js';

describe('factory-mcp dod (the CLI twin of check_dod)', () => {
  let repo: { dir: string; head: string };
  const run = (...args: string[]) => {
    const env = { ...process.env };
    delete env.GITHUB_TOKEN;
    delete env.FACTORY_DB;
    return runCliSync(['dod', '--cwd', repo.dir, ...args], { env });
  };

  beforeAll(() => {
    repo = makeSampleRepo();
    fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ dod: sampleConfig() }));
  });
  afterAll(() => {
    if (repo) fs.rmSync(repo.dir, { recursive: true, force: true });
  });

  it('prints the checklist with marks and exits 1 unless all ten pass; without a token the PR check says what to set', () => {
    const r = run('--only', 'compiles,format,pr_created');
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^DoD 2\/3 \[app\] \(partial/);
    expect(r.stdout).toMatch(/✔ compiles/);
    expect(r.stdout).toMatch(/! pr_created .*GITHUB_TOKEN is not set/);
  });

  it('--json gives the tool result; a bad check id is a usage error', () => {
    const r = run('--only', 'compiles', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ passed: false, score: '1/1', checks: [{ id: 'compiles', status: 'pass', cached: true }] });
    const bad = run('--only', 'compile');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/only\[0\]: unknown check "compile"/);
  });

  it('--help explains it', () => {
    const r = runCliSync(['dod', '--help']);
    expect(r.stdout).toMatch(/Exits 0 only when all\s+ten pass/);
  });
});
