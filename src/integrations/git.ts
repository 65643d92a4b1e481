import { execFile } from 'node:child_process';

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
