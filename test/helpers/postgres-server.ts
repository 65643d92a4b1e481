import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * vitest globalSetup: ONE real PostgreSQL server for the whole test run, from Debian's binaries
 * (`initdb`, `pg_ctl`), in a fresh temp directory, listening on 127.0.0.1 only on a free port, with
 * trust auth (loopback only) and fsync off. The server refuses to run as root: as root the binaries
 * run as the `postgres` user. Tests get its admin URL through `inject('pgAdminUrl')` and a database
 * of their own from `freshDatabase()` (test/helpers/postgres.ts). Stopped and removed in teardown,
 * also when tests fail; a cluster left by a run that was killed is stopped by the next run.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** `postgres://postgres@127.0.0.1:PORT/postgres`, or '' when no server could be started. */
    pgAdminUrl: string;
    /** Why there is no server (empty when there is one). */
    pgError: string;
  }
}

const PREFIX = 'factory-pg-';

export interface PgCluster {
  url: string;
  port: number;
  dir: string;
  stop(): void;
}

/** Where Debian keeps the real binaries (`/usr/local/bin` may hold links to them). */
export function pgBinDir(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const f = dir && path.join(dir, 'initdb');
    if (f && fs.existsSync(f)) return path.dirname(fs.realpathSync(f));
  }
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  return undefined;
}

const asRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as the `postgres` user when we are root. */
function pg(bin: string, args: string[], cwd: string, timeoutMs = 60_000): SpawnSyncReturns<string> {
  const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return spawnSync(cmd, argv, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' } });
}

function check(r: SpawnSyncReturns<string>, what: string): void {
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops and removes the clusters of earlier runs whose vitest process is gone (killed before its teardown). */
function reapOrphans(bin: string): void {
  const tmp = os.tmpdir();
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(tmp, name);
    const pidFile = path.join(dir, 'owner.pid');
    // No owner yet: another run may be between creating the folder and writing it; leave young ones be.
    if (!fs.existsSync(pidFile) ? Date.now() - fs.statSync(dir).mtimeMs < 600_000 : alive(Number(fs.readFileSync(pidFile, 'utf8')))) continue;
    if (fs.existsSync(path.join(dir, 'data', 'postmaster.pid'))) pg(path.join(bin, 'pg_ctl'), ['stop', '-m', 'immediate', '-D', path.join(dir, 'data')], dir, 15_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a throwaway cluster; `stop()` is synchronous so it can also run from an exit handler. */
export async function startPostgres(): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error("PostgreSQL's initdb was not found: install Debian's postgresql (apt-get install -y postgresql), as .ci/run does");
  reapOrphans(bin);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  fs.writeFileSync(path.join(dir, 'owner.pid'), String(process.pid));
  if (asRoot()) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error("running as root and there is no `postgres` user to run PostgreSQL as (install Debian's postgresql, which creates it)");
    fs.chownSync(dir, Number(id.stdout), Number(gid.stdout));
  }
  const data = path.join(dir, 'data');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) pg(path.join(bin, 'pg_ctl'), ['stop', '-m', 'immediate', '-D', data], dir, 15_000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    check(pg(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C'], dir), 'initdb');
    // Loopback only; trust is safe there. A lost race for the port (another run took it) is retried.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const opts = [
        `-c listen_addresses=127.0.0.1`,
        `-c port=${port}`,
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
        '-c shared_buffers=32MB',
      ].join(' ');
      const r = pg(path.join(bin, 'pg_ctl'), ['start', '-w', '-t', '30', '-D', data, '-l', path.join(dir, 'server.log'), '-o', opts], dir);
      if (r.status === 0) return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, stop };
      const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8') : '';
      if (attempt >= 3 || !/could not bind|address already in use/i.test(log)) check(r, `pg_ctl start (log: ${log.trim().slice(-800)})`);
    }
  } catch (e) {
    stop();
    throw e;
  }
}

/** The run's one cluster, shared by every vitest project (each runs this globalSetup), stopped after the last. */
interface Shared {
  cluster: Promise<PgCluster>;
  users: number;
}
const SHARED = Symbol.for('factory-mcp.test-postgres');
const shared = globalThis as { [SHARED]?: Shared };

export default async function setup(project: TestProject): Promise<() => void> {
  const s = (shared[SHARED] ??= { cluster: startPostgres(), users: 0 });
  s.users++;
  let cluster: PgCluster | undefined;
  try {
    cluster = await s.cluster;
  } catch (e) {
    // Only the PostgreSQL tests need it: they fail with this reason; the rest of the run goes on.
    project.provide('pgAdminUrl', '');
    project.provide('pgError', (e as Error).message);
    return () => {};
  }
  project.provide('pgAdminUrl', cluster.url);
  project.provide('pgError', '');
  const onExit = () => cluster?.stop();
  process.once('exit', onExit);
  return () => {
    process.off('exit', onExit);
    if (--s.users > 0) return;
    delete shared[SHARED];
    cluster?.stop();
  };
}
