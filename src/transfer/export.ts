import fs from 'node:fs';
import path from 'node:path';
import { renderMemoryMarkdown } from '../sessions/domain.js';
import { renderPlanMarkdown } from '../phases/render.js';
import { operationLine } from '../core/oplog.js';
import type { Store } from '../core/store.js';
import { InputError } from '../core/errors.js';
import type { ClaimFile } from '../../schemas/sessions.js';

/** memory.md from the memory table. */
export async function memoryMarkdown(store: Store): Promise<string> {
  return renderMemoryMarkdown(await store.memory.all());
}

/** plan.md from the board (with the latest checkpoint per phase). */
export async function planMarkdown(store: Store): Promise<string> {
  return renderPlanMarkdown(await store.phases.board());
}

/** The last `limit` operations as operations.log lines. */
export async function operationsText(store: Store, limit: number): Promise<string> {
  return (await store.operations.recent(limit)).map(operationLine).join('\n');
}

/** One MEGA as a claim file (the format `factory-mcp import` reads). */
export async function claimFiles(store: Store): Promise<ClaimFile[]> {
  return (await store.phases.board()).map((m) => ({
    mega: m.key,
    title: m.title,
    ...(m.source !== null ? { source: m.source } : {}),
    phases: m.phases.map((p) => ({
      id: p.id,
      name: p.name,
      points: p.points,
      tickets: p.tickets,
      deps: p.deps,
      owner: p.status === 'done' ? p.completed_by : p.owner,
      claimed_at: p.claimed_at,
      completed_at: p.completed_at,
    })),
  }));
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

const O = fs.constants;
/** Opening never follows a symbolic link (O_NOFOLLOW) and never blocks on a FIFO (O_NONBLOCK); Windows has neither, so lstat checks first everywhere. */
const OPEN_FLAGS = O.O_WRONLY | O.O_CREAT | (O.O_NOFOLLOW ?? 0) | (O.O_NONBLOCK ?? 0);
const LINK = 'is a symbolic link (export never follows one)';
const refuse = (p: string, why: string) => new InputError('--dir', `refusing to export: ${p} ${why}`);

/**
 * `dir` as a real directory: no component is a symbolic link (except the system's own directly
 * under the filesystem root, like macOS's /var and /tmp, which only an administrator can place),
 * and what is missing is created as plain directories.
 */
function realDirectory(dir: string): string {
  const abs = path.resolve(dir);
  const { root } = path.parse(abs);
  let cur = root;
  for (const part of abs.slice(root.length).split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    let st = fs.lstatSync(cur, { throwIfNoEntry: false });
    if (!st) {
      try {
        fs.mkdirSync(cur);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = fs.lstatSync(cur);
    }
    if (st.isSymbolicLink()) {
      if (path.dirname(cur) !== root || process.platform === 'win32') throw refuse(cur, LINK);
    } else if (!st.isDirectory()) throw refuse(cur, 'is not a directory');
  }
  return abs;
}

/** Refuses a file to write that exists and is not a plain file of its own: a symbolic link, a hard link, a FIFO or device. */
function mustBePlain(file: string, st: fs.Stats | undefined): void {
  if (!st) return;
  if (st.isSymbolicLink()) throw refuse(file, LINK);
  if (!st.isFile()) throw refuse(file, 'is not a plain file');
  if (st.nlink > 1) throw refuse(file, `has ${st.nlink} hard links (export writes only files of its own)`);
}

/** Opens a file to write (truncated) without following a link, after checking it is a plain file of its own. */
function openPlain(file: string): number {
  mustBePlain(file, fs.lstatSync(file, { throwIfNoEntry: false }));
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw refuse(file, LINK);
    if (code === 'ENXIO' || code === 'EISDIR') throw refuse(file, 'is not a plain file');
    throw e;
  }
  try {
    mustBePlain(file, fs.fstatSync(fd));
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  fs.ftruncateSync(fd, 0);
  return fd;
}

/**
 * `factory-mcp export`: memory.md, plan.md, operations.log (every entry, streamed), one JSON per
 * checkpoint under checkpoints/ and one claim file per MEGA under megas/. Returns the files written.
 * Never follows a symbolic link in or as the output folder or its files: every path is checked
 * before anything is written, and each file is opened without following links.
 */
export async function exportState(store: Store, dir: string): Promise<string[]> {
  const out = realDirectory(dir);
  realDirectory(path.join(out, 'checkpoints'));
  realDirectory(path.join(out, 'megas'));
  const files: [rel: string, text: string | null][] = [
    ['memory.md', await memoryMarkdown(store)],
    ['plan.md', await planMarkdown(store)],
    ['operations.log', null],
  ];
  for (const c of await store.checkpoints.all()) {
    const scope = c.mega ? `${safe(c.mega)}${c.phase !== null ? `-${safe(String(c.phase))}` : ''}` : `session-${c.by}`;
    files.push([path.join('checkpoints', `${String(c.id).padStart(6, '0')}-${scope}.json`), JSON.stringify(c, null, 2)]);
  }
  for (const f of await claimFiles(store)) files.push([path.join('megas', `${safe(f.mega)}.json`), JSON.stringify(f, null, 2)]);
  for (const [rel] of files) mustBePlain(path.join(out, rel), fs.lstatSync(path.join(out, rel), { throwIfNoEntry: false }));
  for (const [rel, text] of files) {
    const fd = openPlain(path.join(out, rel));
    try {
      if (text !== null) fs.writeSync(fd, text.endsWith('\n') ? text : `${text}\n`);
      else {
        let buf = '';
        for await (const op of store.operations.iterate()) {
          buf += `${operationLine(op)}\n`;
          if (buf.length > 1 << 16) {
            fs.writeSync(fd, buf);
            buf = '';
          }
        }
        fs.writeSync(fd, buf);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return files.map(([rel]) => rel);
}
