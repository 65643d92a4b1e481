import { spawn } from 'node:child_process';

/** The secrets factory-mcp reads; commands it runs (DoD checks, the council reviewer) never see them. */
export const SECRET_ENV = ['GITHUB_TOKEN', 'LINEAR_API_KEY', 'FACTORY_HTTP_TOKEN'] as const;

/** A copy of `env` without factory-mcp's secrets, plus `extra`. */
export function commandEnv(env: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, ...extra };
  for (const k of SECRET_ENV) delete out[k];
  return out;
}

export interface RunOptions {
  cwd: string;
  /** Milliseconds before the command (and its process group) is killed. */
  timeoutMs: number;
  /** Bytes of stdout+stderr kept; the rest is dropped and `truncated` is set. */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  input?: string;
  signal?: AbortSignal;
}

export interface RunResult {
  command: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  truncated: boolean;
  output: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Set when the command could not start at all (missing binary, bad cwd). */
  spawnError?: string;
}

/**
 * Runs a command given as an argv array — never a shell string built from input — with a
 * timeout that kills its whole process group, an output cap, and cancellation. Never throws
 * for the command's own failures: they are in the result.
 */
export function runCommand(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('runCommand: empty command');
  const cap = opts.maxOutputBytes ?? 256 * 1024;
  const started = Date.now();
  return new Promise((resolve) => {
    let out = '';
    let stdout = '';
    let stderr = '';
    let kept = 0;
    let truncated = false;
    let timedOut = false;
    let cancelled = false;
    let spawnError: string | undefined;
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const kill = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const take = (which: 'out' | 'err') => (chunk: Buffer) => {
      if (kept >= cap) {
        truncated = true;
        return;
      }
      const s = chunk.subarray(0, cap - kept).toString('utf8');
      if (chunk.length > cap - kept) truncated = true;
      kept += Math.min(chunk.length, cap - kept);
      out += s;
      if (which === 'out') stdout += s;
      else stderr += s;
    };
    child.stdout.on('data', take('out'));
    child.stderr.on('data', take('err'));
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      kill();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ command: [...argv], exitCode: code, signal, timedOut, cancelled, truncated, output: out, stdout, stderr, durationMs: Date.now() - started, ...(spawnError ? { spawnError } : {}) });
    });
  });
}
