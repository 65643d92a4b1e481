import type { Db } from '../core/db.js';
import { iso } from '../core/time.js';
import type { MemoryEntry, MemorySection } from './domain.js';

export type { MemoryEntry, MemorySection };

interface Row {
  id: number;
  ts: number;
  instance: string;
  author: string | null;
  section: MemorySection;
  text: string;
}

/** memory.md as rows: entries by section, each with its author (agent and instance) and time. */
export class MemoryStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare('INSERT INTO memory (ts, instance, author, section, text) VALUES (?,?,?,?,?)'),
      latestIn: db.prepare<[string, number], Row>('SELECT * FROM (SELECT * FROM memory WHERE section = ? ORDER BY id DESC LIMIT ?) ORDER BY id'),
      all: db.prepare<[], Row>('SELECT * FROM memory ORDER BY id'),
    };
  }

  /** Call inside the caller's write transaction. */
  append(instance: string, author: string | null, now: number, section: MemorySection, text: string): number {
    return Number(this.q.insert.run(now, instance, author, section, text).lastInsertRowid);
  }

  /** The latest `limit` entries of each section asked for, oldest first within a section. */
  read(sections: readonly MemorySection[], limit: number): MemoryEntry[] {
    return sections.flatMap((s) => this.q.latestIn.all(s, limit).map(toEntry));
  }

  all(): MemoryEntry[] {
    return this.q.all.all().map(toEntry);
  }
}

function toEntry(r: Row): MemoryEntry {
  return { id: r.id, section: r.section, text: r.text, author: r.author ? `${r.author} (${r.instance})` : r.instance, at: iso(r.ts) };
}
