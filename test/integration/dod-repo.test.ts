import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBranch, diffText, tempWorktree, workingTreeHash } from '../../src/dod/repo.js';
import { scanSecrets } from '../../src/dod/secrets.js';
import { sh, write } from '../../bench/dod-sample.js';
import { tempDir } from '../helpers/server.js';

describe('DoD repository helpers on a real git repository', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.realpathSync(tempDir('factory-dod-repo-'));
    sh(dir, 'init', '-q', '-b', 'trunk');
    write(dir, { '.gitignore': 'ignored.txt\n', 'a.txt': 'a\n' });
    sh(dir, 'add', '-A');
    sh(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'a');
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hashes the working tree with untracked files, not ignored ones, and leaves the real index alone', async () => {
    const clean = await workingTreeHash(dir);
    expect(clean).toBe(sh(dir, 'rev-parse', 'HEAD^{tree}').trim());
    write(dir, { 'ignored.txt': 'x' });
    expect(await workingTreeHash(dir)).toBe(clean);
    write(dir, { 'new.txt': 'n\n' });
    const dirty = await workingTreeHash(dir);
    expect(dirty).not.toBe(clean);
    expect(sh(dir, 'status', '--porcelain')).toContain('?? new.txt'); // still untracked: the real index is untouched
    fs.rmSync(path.join(dir, 'new.txt'));
    expect(await workingTreeHash(dir)).toBe(clean);
  });

  it('finds the default branch from origin/HEAD, else main/master, else none; honours the config', async () => {
    expect(await defaultBranch(dir, undefined)).toBeNull();
    sh(dir, 'update-ref', 'refs/remotes/origin/trunk', 'HEAD');
    sh(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/trunk');
    expect(await defaultBranch(dir, undefined)).toBe('origin/trunk');
    expect(await defaultBranch(dir, 'trunk')).toBe('trunk');
    expect(await defaultBranch(dir, 'nope')).toBeNull();
  });

  it('makes and removes a temporary worktree of a commit', async () => {
    const wt = await tempWorktree(dir, 'HEAD');
    expect(fs.readFileSync(path.join(wt.dir, 'a.txt'), 'utf8')).toBe('a\n');
    await wt.dispose();
    expect(fs.existsSync(wt.dir)).toBe(false);
    expect(sh(dir, 'worktree', 'list')).not.toContain(wt.dir);
  });
});

describe('secret scanning of the lines a change adds', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = fs.realpathSync(tempDir('factory-dod-secrets-'));
    sh(dir, 'init', '-q', '-b', 'main');
    write(dir, { 'old.js': 'const legacy = "AKIA2E0A8F3B244C9986";\n' }); // already on main: not this change's
    sh(dir, 'add', '-A');
    sh(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'a');
    write(dir, { 'old.js': 'const legacy = "AKIA2E0A8F3B244C9986";\nconst more = 1;\n', 'new.js': '// config\nconst k = "AKIA7QWERTYUIOPLKJHG";\n' });
    // A stand-in gitleaks on PATH: finds AKIA ids in the --source dir and writes its JSON report.
    bin = fs.realpathSync(tempDir('factory-dod-bin-'));
    fs.writeFileSync(
      path.join(bin, 'gitleaks'),
      `#!${process.execPath}
const fs = require('fs'), path = require('path');
const arg = (n) => process.argv[process.argv.indexOf(n) + 1];
const src = arg('--source'), out = [];
const walk = (d) => { for (const f of fs.readdirSync(d)) { const p = path.join(d, f); if (fs.statSync(p).isDirectory()) walk(p); else fs.readFileSync(p, 'utf8').split('\\n').forEach((l, i) => { if (/AKIA[A-Z0-9]{16}/.test(l)) out.push({ File: p, StartLine: i + 1, RuleID: 'aws-access-token', Secret: 'REDACTED' }); }); } };
walk(src);
fs.writeFileSync(arg('--report-path'), JSON.stringify(out));
`,
      { mode: 0o755 },
    );
  });
  afterAll(() => {
    for (const d of [dir, bin]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('secretlint names only added lines, by file:line and rule, never the secret', async () => {
    const tree = await workingTreeHash(dir);
    const v = await scanSecrets(dir, await diffText(dir, 'HEAD', tree), 'secretlint', { env: process.env });
    expect(v.status).toBe('fail');
    expect(v.detail).toMatch(/^secretlint: 1 secret\(s\) added: new\.js:2 \(aws\/AWSAccessKeyID\)/);
    expect(v.detail).not.toMatch(/AKIA/);
  });

  it('uses gitleaks when it is on PATH (auto), on the changed files only', async () => {
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }; // handed to the scan, not put into process.env
    const tree = await workingTreeHash(dir);
    const v = await scanSecrets(dir, await diffText(dir, 'HEAD', tree), 'auto', { env });
    expect(v.scanner).toBe('gitleaks');
    expect(v.detail).toMatch(/^gitleaks: 1 secret\(s\) added: new\.js:2 \(aws-access-token\)/);
  });
});
