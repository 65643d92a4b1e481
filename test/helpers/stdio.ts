import { spawn, spawnSync, type ChildProcessWithoutNullStreams, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The built CLI (`npm test` builds first through `pretest`). */
export const CLI = path.resolve(fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url)));

export interface StdioAgent {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  call<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  raw(name: string, args?: unknown): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** A real `factory-mcp` stdio child process with an SDK client attached. */
export async function stdioAgent(db: string, opts: { name?: string; env?: Record<string, string>; args?: string[]; cwd?: string } = {}): Promise<StdioAgent> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...(opts.args ?? [])],
    env: { ...(process.env as Record<string, string>), FACTORY_DB: db, FACTORY_LOG: 'silent', ...opts.env },
    cwd: opts.cwd,
    stderr: 'pipe',
  });
  const client = new Client({ name: opts.name ?? 'e2e-agent', version: '1.0.0' });
  await client.connect(transport);
  const raw = (name: string, args?: unknown) => client.callTool({ name, arguments: args as Record<string, unknown> }, undefined, { timeout: 60_000 }) as Promise<CallToolResult>;
  return {
    client,
    transport,
    pid: transport.pid as number,
    raw,
    async call<T>(name: string, args: Record<string, unknown> = {}) {
      const r = await raw(name, args);
      if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
      return r.structuredContent as T;
    },
    close: () => client.close(),
  };
}

/** A raw child speaking newline-delimited JSON-RPC, for malformed traffic the SDK client would never send. */
export function rawStdio(db: string): { child: ChildProcessWithoutNullStreams; send(line: string): void; next(): Promise<Record<string, unknown>>; close(): Promise<void> } {
  const child = spawn(process.execPath, [CLI], { env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' } });
  let buf = '';
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as Record<string, unknown>;
      const w = waiters.shift();
      if (w) w(msg);
      else queue.push(msg);
    }
  });
  return {
    child,
    send: (line) => child.stdin.write(`${line}\n`),
    next: () => new Promise((resolve) => (queue.length ? resolve(queue.shift() as Record<string, unknown>) : waiters.push(resolve))),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/**
 * Runs the built CLI once with exactly `env` (runCommand would give it only the allow-list, and the
 * CLI needs its secrets: GITHUB_TOKEN, LINEAR_API_KEY) and collects its exit code and output.
 */
/** `prefix`: a command the CLI runs under (e.g. `setpriv …` to run it as another user). */
export function runCli(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number; prefix?: string[] }): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...argv] = [...(opts.prefix ?? []), process.execPath, CLI, ...args] as [string, ...string[]];
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, stdout, stderr });
    });
  });
}

/** The CLI run to completion synchronously (for tests that read its output in line). */
export function runCliSync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: opts.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 60_000 });
}
