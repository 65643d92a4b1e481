import { spawn } from 'node:child_process';
import { isServerSecret, looksSecret, redact, redactCut, secretValues } from '../core/secrets.js';

/** Names every child process gets from the server's environment (on Windows compared without case). */
const PASS_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TERM',
  'COLORTERM',
  'NO_COLOR',
  'FORCE_COLOR',
  'CI',
  'XDG_CONFIG_HOME',
  'XDG_CACHE_HOME',
  'XDG_DATA_HOME',
  'XDG_STATE_HOME',
  'XDG_RUNTIME_DIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  // toolchains that DoD commands find through them
  'GOPATH',
  'GOROOT',
  'GOCACHE',
  'GOMODCACHE',
  'CARGO_HOME',
  'RUSTUP_HOME',
  'JAVA_HOME',
  'VIRTUAL_ENV',
  // Windows
  'SYSTEMROOT',
  'SYSTEMDRIVE',
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'PROGRAMDATA',
  'PROGRAMFILES',
  // git settings for reads that run nothing and redirect nothing (not GIT_DIR, GIT_EXTERNAL_DIFF, GIT_SSH_COMMAND, GIT_ASKPASS, GIT_CONFIG_*, GIT_EXEC_PATH…)
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_AUTHOR_DATE',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_COMMITTER_DATE',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  'GIT_TERMINAL_PROMPT',
  'GIT_OPTIONAL_LOCKS',
  'GIT_ATTR_NOSYSTEM',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_DEFAULT_HASH',
]);
/** Node and npm settings pass, except these (code run in every Node child) and secret-looking names. */
const PASS_PREFIXES = ['LC_', 'NODE_', 'npm_'];
const NEVER = new Set(['NODE_OPTIONS', 'npm_config_node_options']);

/**
 * Whether the variable `name` reaches child processes: allow-listed (PATH, HOME, locale, temp dirs,
 * terminal, CI, Node/npm settings, read-only git settings) and not secret-looking, or named in
 * `pass` (from the config). The server's own secrets (FACTORY_ACK_TOKEN, FACTORY_HTTP_TOKEN,
 * GITHUB_TOKEN, LINEAR_API_KEY, PGPASSWORD) and FACTORY_DB never pass, named or not: the config is a
 * file an agent can edit.
 */
export function passesToChild(name: string, pass: readonly string[] = []): boolean {
  // FACTORY_DB may be a postgres:// URL with a password in it: the store's login is the server's alone.
  if (isServerSecret(name) || name === 'FACTORY_DB') return false;
  if (pass.includes(name)) return true;
  if (looksSecret(name) || NEVER.has(name)) return false;
  const key = process.platform === 'win32' ? name.toUpperCase() : name;
  return PASS_NAMES.has(key) || PASS_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The environment of every child process the server starts (commands, git): the allow-listed part of
 * `env` plus the names in `pass`, then `set` (values the server chooses, e.g. NO_COLOR).
 */
export function childEnv(env: NodeJS.ProcessEnv, opts: { pass?: readonly string[]; set?: Record<string, string> } = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && passesToChild(k, opts.pass)) out[k] = v;
  return { ...out, ...opts.set };
}

export interface RunOptions {
  cwd: string;
  /** Milliseconds before the command (and its process group) is killed. */
  timeoutMs: number;
  /** Bytes of stdout+stderr kept; the rest is dropped and `truncated` is set. */
  maxOutputBytes?: number;
  /** The environment the command's variables are taken from (default process.env): only what childEnv lets through reaches it. */
  env?: NodeJS.ProcessEnv;
  /** Extra names of `env` to pass (the config's pass_env). */
  passEnv?: readonly string[];
  /** Variables set for the command, after the allow-list. */
  setEnv?: Record<string, string>;
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
    const env = childEnv(opts.env ?? process.env, { pass: opts.passEnv ?? [], set: opts.setEnv ?? {} });
    const child = spawn(cmd, args, { cwd: opts.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
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
      // Output leaves here redacted: no secret value the server holds reaches a detail, a row or a log.
      const secrets = secretValues(opts.env ?? process.env);
      const clean = (s: string) => (truncated ? redactCut(s, secrets) : redact(s, secrets));
      resolve({
        command: [...argv],
        exitCode: code,
        signal,
        timedOut,
        cancelled,
        truncated,
        output: clean(out),
        stdout: clean(stdout),
        stderr: clean(stderr),
        durationMs: Date.now() - started,
        ...(spawnError ? { spawnError: redact(spawnError, secrets) } : {}),
      });
    });
  });
}
