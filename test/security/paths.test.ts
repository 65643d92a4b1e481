import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { tempDir, textOf } from '../helpers/server.js';
import { runCli, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

const cleanup: (() => void)[] = [];
let agent: StdioAgent | null = null;
afterEach(async () => {
  await agent?.close().catch(() => {});
  agent = null;
  for (const f of cleanup.splice(0)) f();
});
const temp = (prefix: string) => {
  const d = tempDir(prefix);
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
};

/** `factory-mcp export` as a human (or an agent's script) runs it, in `cwd`. */
function exportTo(cwd: string, dir: string) {
  return runCli(['export', '--dir', dir, '--db', path.join(cwd, 'factory.db')], { cwd, env: { ...process.env, FACTORY_LOG: 'silent' } });
}

describe('export never writes through a symbolic link (issue 12, finding 10)', () => {
  /** A workspace with a file the agent wants overwritten ("victim") outside the output folder. */
  function setup() {
    const ws = temp('factory-sec-export-');
    const victimDir = temp('factory-sec-victim-');
    const victim = path.join(victimDir, 'authorized_keys');
    fs.writeFileSync(victim, 'ssh-ed25519 AAAA human@laptop\n');
    return { ws, victimDir, victim, out: path.join(ws, 'factory-state') };
  }
  const untouched = (victimDir: string, victim: string) => {
    expect(fs.readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA human@laptop\n');
    expect(fs.readdirSync(victimDir)).toEqual(['authorized_keys']);
  };

  it('a symbolic link planted as one of its files: refused naming it, the target and the folder untouched', async () => {
    const { ws, victimDir, victim, out } = setup();
    fs.mkdirSync(out);
    fs.symlinkSync(victim, path.join(out, 'plan.md'));
    const r = await exportTo(ws, out);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${path.join(out, 'plan.md')} is a symbolic link`);
    untouched(victimDir, victim);
    expect(fs.existsSync(path.join(out, 'memory.md'))).toBe(false); // nothing written before the refusal
  });

  it('the output folder itself, a folder inside it, or a parent folder as a symbolic link: refused naming it', async () => {
    const { ws, victimDir, victim, out } = setup();
    fs.symlinkSync(victimDir, out);
    let r = await exportTo(ws, out);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${out} is a symbolic link`);
    untouched(victimDir, victim);

    fs.rmSync(out);
    fs.mkdirSync(out);
    fs.symlinkSync(victimDir, path.join(out, 'checkpoints'));
    r = await exportTo(ws, out);
    expect(r.stderr).toContain(`${path.join(out, 'checkpoints')} is a symbolic link`);
    untouched(victimDir, victim);

    const parent = path.join(ws, 'exports');
    fs.symlinkSync(victimDir, parent);
    r = await exportTo(ws, path.join(parent, 'today'));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${parent} is a symbolic link`);
    untouched(victimDir, victim);
  });

  it('a hard link planted as one of its files is refused too; a clean folder exports', async () => {
    const { ws, victimDir, victim, out } = setup();
    fs.mkdirSync(out);
    fs.linkSync(victim, path.join(out, 'memory.md'));
    const r = await exportTo(ws, out);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${path.join(out, 'memory.md')} has 2 hard links`);
    expect(fs.readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA human@laptop\n');
    fs.rmSync(path.join(out, 'memory.md'));
    const ok = await exportTo(ws, out);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['checkpoints', 'megas', 'memory.md', 'operations.log', 'plan.md']);
    untouched(victimDir, victim);
  });
});

describe("a tool's cwd is the repository or one of its worktrees (issue 12, finding 10)", () => {
  /** A repository whose DoD command leaves a marker where it runs, served over stdio from its root. */
  async function serve(): Promise<{ repo: TestRepo; db: string; a: StdioAgent }> {
    const repo = makeRepo();
    cleanup.push(() => repo.remove());
    repo.commit('config', {
      'factory.config.json': JSON.stringify({ dod: { components: [{ name: 'app', commands: { compiles: [process.execPath, '-e', "require('fs').writeFileSync('dod-ran', '')"] } }] } }),
      '.gitignore': 'dod-ran\n',
    });
    const db = path.join(temp('factory-sec-db-'), 'factory.db');
    const a = await stdioAgent(db, { cwd: repo.dir });
    agent = a;
    return { repo, db, a };
  }
  const dodRuns = (db: string) => {
    const d = new Database(db, { readonly: true });
    try {
      return (d.prepare('SELECT count(*) AS n FROM dod_runs').get() as { n: number }).n;
    } finally {
      d.close();
    }
  };

  it('a directory outside the repository with a fake .git file pointing at it is refused, naming cwd; nothing runs or is written', async () => {
    const { repo, db, a } = await serve();
    const fake = temp('factory-sec-fake-');
    fs.writeFileSync(path.join(fake, '.git'), `gitdir: ${path.join(repo.dir, '.git')}\n`);
    const before = dodRuns(db);
    for (const tool of ['check_dod', 'classify_change']) {
      const r = await a.raw(tool, { cwd: fake });
      expect(r.isError, tool).toBe(true);
      expect(textOf(r), tool).toMatch(new RegExp(`cwd: ${fake.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is outside the repository`));
    }
    expect(fs.existsSync(path.join(fake, 'dod-ran'))).toBe(false);
    expect(dodRuns(db)).toBe(before);
    // the server keeps running
    expect((await a.call<{ checks: { status: string }[] }>('check_dod', { only: ['compiles'] })).checks[0]?.status).toBe('pass');
  });

  it('a folder inside the repository holding its own .git is another repository: refused naming cwd', async () => {
    const { repo, a } = await serve();
    fs.mkdirSync(path.join(repo.dir, 'vendor'));
    fs.writeFileSync(path.join(repo.dir, 'vendor', '.git'), `gitdir: ${path.join(repo.dir, '.git')}\n`);
    const r = await a.raw('check_dod', { cwd: 'vendor' });
    expect(textOf(r)).toMatch(/cwd: .*vendor is inside another repository/);
    expect(fs.existsSync(path.join(repo.dir, 'vendor', 'dod-ran'))).toBe(false);
  });

  it('a real worktree of the repository (outside its folder) and a folder inside the root are accepted', async () => {
    const { repo, a } = await serve();
    const wt = path.join(temp('factory-sec-wt-'), 'wt');
    repo.git('worktree', 'add', '-q', '--detach', wt);
    const d = await a.call<{ checks: { status: string }[] }>('check_dod', { cwd: wt, only: ['compiles'] });
    expect(d.checks[0]?.status).toBe('pass');
    expect(fs.existsSync(path.join(wt, 'dod-ran'))).toBe(true);
    fs.writeFileSync(path.join(wt, 'new.md'), 'hello\n');
    expect((await a.call<{ stats: { files: number } }>('classify_change', { cwd: wt })).stats.files).toBe(1);
    fs.mkdirSync(path.join(repo.dir, 'docs'));
    expect((await a.call<{ level: string }>('classify_change', { cwd: 'docs' })).level).toBeDefined();
  });
});
