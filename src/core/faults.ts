import net from 'node:net';
import type { Db } from './db.js';

/** What the CLI was opening when it failed, so the message can name it. */
export interface FaultScene {
  db?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
}

/**
 * One line for a fault the user can fix (a database file that is not one, is corrupt or cannot
 * be written; a port in use), naming the file or port and what to do; null for anything else,
 * which stays a bug report with its stack.
 */
export function startupFault(e: unknown, at: FaultScene): string | null {
  const err = e as NodeJS.ErrnoException;
  const code = String(err?.code ?? '');
  const file = err?.path ?? at.db ?? 'the database';
  if (code === 'SQLITE_NOTADB') return `${at.db ?? 'the database'} is not a SQLite database (${err.message}): move it aside or point --db / FACTORY_DB at the right file; nothing was changed`;
  if (code.startsWith('SQLITE_CORRUPT')) return `${at.db ?? 'the database'} is corrupt (${err.message}): restore it from a backup, or move it aside to start a new one; nothing was changed`;
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_IOERR') ||
    ((code === 'EACCES' || code === 'EROFS' || code === 'EPERM') && err.syscall !== 'listen')
  ) {
    const ofDb = at.db !== undefined && (file === at.db || at.db.startsWith(`${file}/`) || file.startsWith(`${at.db}-`));
    const fix = ofDb ? 'make its directory writable, or point --db / FACTORY_DB at a writable location' : 'make it writable or choose another place';
    return `cannot create or write ${file} (${err.message.replace(/^\w+: /, '')}): ${fix}${ofDb ? '; nothing was changed' : ''}`;
  }
  if (code === 'EADDRINUSE') return `port ${at.port ?? '?'} on ${at.host ?? '127.0.0.1'} is already in use: stop the other server or choose another --port; nothing was changed`;
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL')
    return `cannot listen on ${at.host ?? '127.0.0.1'} port ${at.port ?? '?'} (${code}): choose another --host or --port (ports below 1024 need privileges); nothing was changed`;
  return null;
}

/** Fails like the HTTP server would if `port` cannot be bound, before anything is opened or written. */
export function probePort(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve()));
  });
}

/** SQLite's own page-level check of the whole file: null when sound, else its first findings. */
export function integrityProblem(db: Db): string | null {
  try {
    const rows = db.pragma('integrity_check(5)') as { integrity_check: string }[];
    const found = rows.map((r) => r.integrity_check).filter((x) => x !== 'ok');
    return found.length ? found.join('; ').replace(/\s+/g, ' ') : null;
  } catch (e) {
    if (String((e as { code?: string }).code ?? '').startsWith('SQLITE_CORRUPT') || (e as { code?: string }).code === 'SQLITE_NOTADB') return (e as Error).message;
    throw e;
  }
}
