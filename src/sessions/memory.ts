import type { Sql } from '../core/sql.js';
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

  constructor(sql: Sql) {
    this.q = {
      insert: sql.prepare<[number, string, string | null, MemorySection, string], { id: number }>('INSERT INTO memory (ts, instance, author, section, text) VALUES (?,?,?,?,?) RETURNING id'),
      latestIn: sql.prepare<[string, number], Row>('SELECT * FROM (SELECT * FROM memory WHERE section = ? ORDER BY id DESC LIMIT ?) AS latest ORDER BY id'),
      all: sql.prepare<[], Row>('SELECT * FROM memory ORDER BY id'),
    };
  }

  /** Call inside the caller's write transaction. */
  async append(instance: string, author: string | null, now: number, section: MemorySection, text: string): Promise<number> {
    return Number((await this.q.insert.get(now, instance, author, section, text))?.id);
  }

  /** The latest `limit` entries of each section asked for, oldest first within a section. */
  async read(sections: readonly MemorySection[], limit: number): Promise<MemoryEntry[]> {
    const out: MemoryEntry[] = [];
    for (const s of sections) for (const r of await this.q.latestIn.all(s, limit)) out.push(toEntry(r));
    return out;
  }

  async all(): Promise<MemoryEntry[]> {
    return (await this.q.all.all()).map(toEntry);
  }
}

function toEntry(r: Row): MemoryEntry {
  return { id: r.id, section: r.section, text: r.text, author: r.author ? `${r.author} (${r.instance})` : r.instance, at: iso(r.ts) };
}
