import fs from 'node:fs';
import path from 'node:path';
import { operationLine, renderMemoryMarkdown, renderPlanMarkdown } from './domain/sessions.js';
import type { Store } from './store/index.js';
import type { ClaimFile } from '../schemas/sessions.js';

/** memory.md from the memory table. */
export function memoryMarkdown(store: Store): string {
  return renderMemoryMarkdown(store.memory.all());
}

/** plan.md from the board (with the latest checkpoint per phase). */
export function planMarkdown(store: Store): string {
  return renderPlanMarkdown(store.phases.board());
}

/** The last `limit` operations as operations.log lines. */
export function operationsText(store: Store, limit: number): string {
  return store.operations.recent(limit).map(operationLine).join('\n');
}

/** One MEGA as a claim file (the format `factory-mcp import` reads). */
export function claimFiles(store: Store): ClaimFile[] {
  return store.phases.board().map((m) => ({
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

/**
 * `factory-mcp export`: memory.md, plan.md, operations.log (every entry, streamed), one JSON per
 * checkpoint under checkpoints/ and one claim file per MEGA under megas/. Returns the files written.
 */
export function exportState(store: Store, dir: string): string[] {
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'megas'), { recursive: true });
  const written: string[] = [];
  const write = (rel: string, text: string) => {
    fs.writeFileSync(path.join(dir, rel), text.endsWith('\n') ? text : `${text}\n`);
    written.push(rel);
  };
  write('memory.md', memoryMarkdown(store));
  write('plan.md', planMarkdown(store));
  const fd = fs.openSync(path.join(dir, 'operations.log'), 'w');
  try {
    let buf = '';
    for (const op of store.operations.iterate()) {
      buf += `${operationLine(op)}\n`;
      if (buf.length > 1 << 16) {
        fs.writeSync(fd, buf);
        buf = '';
      }
    }
    fs.writeSync(fd, buf);
  } finally {
    fs.closeSync(fd);
  }
  written.push('operations.log');
  for (const c of store.checkpoints.all()) {
    const scope = c.mega ? `${safe(c.mega)}${c.phase !== null ? `-${safe(String(c.phase))}` : ''}` : `session-${c.by}`;
    write(path.join('checkpoints', `${String(c.id).padStart(6, '0')}-${scope}.json`), JSON.stringify(c, null, 2));
  }
  for (const f of claimFiles(store)) write(path.join('megas', `${safe(f.mega)}.json`), JSON.stringify(f, null, 2));
  return written;
}
