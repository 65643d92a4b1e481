import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './server.js';

/** What `write` puts at a path: text, bytes, a symlink, or null to delete it. */
export type FileContent = string | Buffer | { symlink: string } | null;

export interface TestRepo {
  dir: string;
  /** Runs git in the repository (isolated from the user's and system config); returns stdout. */
  git(...args: string[]): string;
  /** Writes, links or deletes files (paths relative to the repository, directories created). */
  write(files: Record<string, FileContent>): void;
  /** Writes the files, stages everything and commits; returns the commit sha. */
  commit(message: string, files?: Record<string, FileContent>): string;
  remove(): void;
}

/** Environment that keeps git away from the machine's config, hooks and signing. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2026-11-25T09:00:00Z',
  GIT_COMMITTER_DATE: '2026-11-25T09:00:00Z',
};

/** A fresh repository in a temp dir on branch `main` (or `branch`), with one empty initial commit. */
export function makeRepo(opts: { branch?: string; dir?: string } = {}): TestRepo {
  const dir = opts.dir ?? tempDir('factory-git-');
  const run = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  run('init', '-q', '-b', opts.branch ?? 'main');
  run('commit', '-q', '--allow-empty', '-m', 'initial');
  const write = (files: Record<string, FileContent>) => {
    for (const [rel, content] of Object.entries(files)) {
      const abs = path.join(dir, rel);
      fs.rmSync(abs, { force: true });
      if (content === null) continue;
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      if (typeof content === 'object' && !Buffer.isBuffer(content)) fs.symlinkSync(content.symlink, abs);
      else fs.writeFileSync(abs, content);
    }
  };
  return {
    dir,
    git: run,
    write,
    commit(message, files = {}) {
      write(files);
      run('add', '-A');
      run('commit', '-q', '--allow-empty', '-m', message);
      return run('rev-parse', 'HEAD').trim();
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
