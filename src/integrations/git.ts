import { execFile, spawn } from 'node:child_process';

export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed: ${stderr.trim().split('\n')[0] ?? 'unknown error'}`);
    this.name = 'GitError';
  }
}

/** Runs git with an argv array (no shell) and returns stdout; rejects with GitError on failure. */
export function git(cwd: string, args: readonly string[], opts: { maxBuffer?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args as string[], { cwd, maxBuffer: opts.maxBuffer ?? 256 * 1024 * 1024, encoding: 'utf8', ...(opts.env ? { env: opts.env } : {}) }, (err, stdout, stderr) => {
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
export function gitStream(cwd: string, args: readonly string[], onData: (chunk: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args as string[], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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
