import { execFile, spawn } from 'node:child_process';
import { childEnv } from './run.js';
import { redact } from '../core/secrets.js';

export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed: ${redact(stderr).trim().split('\n')[0] ?? 'unknown error'}`);
    this.name = 'GitError';
  }
}

/**
 * Before every git command: no program the repository configures runs for a read (an agent can
 * write .git/config): no fsmonitor hook, no hooks, no signature checks. Diffs add --no-ext-diff and
 * --no-textconv; commands that read or write file contents add `noFilterArgs` (clean/smudge filters).
 */
export const GIT_HARDEN = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'log.showSignature=false'] as const;

export interface GitOptions {
  maxBuffer?: number;
  input?: string;
  /** Variables set for git after the allow-list (e.g. GIT_INDEX_FILE). */
  setEnv?: Record<string, string>;
}

/** git's environment: the allow-list of every child process, no terminal prompts. */
function gitEnv(set: Record<string, string> = {}): NodeJS.ProcessEnv {
  return childEnv(process.env, { set: { GIT_TERMINAL_PROMPT: '0', ...set } });
}

/** Runs git with an argv array (no shell) and returns stdout; rejects with GitError on failure. */
export function git(cwd: string, args: readonly string[], opts: GitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', [...GIT_HARDEN, ...args], { cwd, maxBuffer: opts.maxBuffer ?? 256 * 1024 * 1024, encoding: 'utf8', env: gitEnv(opts.setEnv) }, (err, stdout, stderr) => {
      if (err) reject(new GitError(args, stderr || err.message));
      else resolve(stdout);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * Runs git with an argv array and hands its stdout to `onData` as it arrives (UTF-8, never split
 * inside a character), so large outputs are parsed while git still works. Rejects with GitError.
 */
export function gitStream(cwd: string, args: readonly string[], onData: (chunk: string) => void, opts: Pick<GitOptions, 'setEnv'> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...GIT_HARDEN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: gitEnv(opts.setEnv) });
    let stderr = '';
    let failed: unknown = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (failed) return;
      try {
        onData(chunk);
      } catch (e) {
        failed = e;
        child.kill();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      if (stderr.length < 64 * 1024) stderr += c;
    });
    child.on('error', (e) => reject(new GitError(args, e.message)));
    child.on('close', (code) => {
      if (failed) reject(failed);
      else if (code === 0) resolve();
      else reject(new GitError(args, stderr || `exit code ${code}`));
    });
  });
}

/**
 * Config (as GIT_CONFIG_COUNT/KEY/VALUE, for setEnv) that switches off every clean/smudge/process
 * filter driver configured for `cwd` (repository, global and included config), for commands that
 * read or write file contents (add, a diff against the working tree, checkout). git has no generic
 * switch: .gitattributes in the tree and .git/info/attributes cannot be ignored, so each configured
 * driver is emptied (an empty command is no filter) and made optional. Keys go through the
 * environment, not `-c`, so that a driver name holding "=" cannot break out.
 */
export async function noFilterEnv(cwd: string): Promise<Record<string, string>> {
  const out = await git(cwd, ['config', '-z', '--name-only', '--get-regexp', '^filter\\.']).catch(() => ''); // exit 1: none configured
  const drivers = new Set<string>();
  for (const key of out.split('\0')) {
    const m = /^filter\.(.+)\.[^.]+$/s.exec(key);
    if (m) drivers.add(m[1] as string);
  }
  const pairs = [...drivers].flatMap((d): [string, string][] => [
    [`filter.${d}.clean`, ''],
    [`filter.${d}.smudge`, ''],
    [`filter.${d}.process`, ''],
    [`filter.${d}.required`, 'false'],
  ]);
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}
