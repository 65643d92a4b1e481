/** Pure session logic: who owns a claim, when a session or its server counts as gone, the resume call, memory.md. */
import type { z } from 'zod';
import type { MemoryEntrySchema } from '../../schemas/sessions.js';
import type { Liveness } from '../phases/lease.js';

/** Why a session counts as interrupted (session_start's `crashed[].why`). */
export const INTERRUPTIONS = ['process_gone', 'disconnected', 'lease_passed', 'parked'] as const;
export type Interruption = (typeof INTERRUPTIONS)[number];

/** Who holds a claim: a live session, one that parked it at session_end, or one that is gone without it. */
export type OwnerState = 'live' | 'parked' | 'interrupted';

/**
 * The state of a claim's owner, no clock needed: a session that ended still owning a claim kept
 * it at session_end (parked); one whose client disconnected or whose process is gone is interrupted.
 */
export function ownerState(s: Pick<SessionFacts, 'ended_at' | 'disconnected_at'> | undefined, liveness: Liveness): OwnerState {
  if (!s) return 'interrupted';
  if (s.ended_at !== null) return 'parked';
  if (s.disconnected_at !== null || liveness === 'dead') return 'interrupted';
  return 'live';
}

/**
 * Whether a server process runs. A stopped one is dead. On this host (`local` given): alive exactly
 * while its pid runs with the start time it registered (another start time: the pid was reused).
 * On another host: dead once its heartbeat is older than `deadAfterBeats` of its intervals.
 */
export function serverLiveness(
  s: { stopped_at: number | null; pid_start: number | null; heartbeat_at: number; heartbeat_ms: number },
  now: number,
  deadAfterBeats: number,
  local: { alive: boolean; startMs: number | null } | null,
): Liveness {
  if (s.stopped_at !== null) return 'dead';
  if (local) {
    if (!local.alive) return 'dead';
    if (s.pid_start !== null && local.startMs !== null && Math.abs(local.startMs - s.pid_start) > 20) return 'dead';
    return 'alive';
  }
  return now - s.heartbeat_at > deadAfterBeats * s.heartbeat_ms ? 'dead' : 'alive';
}

/** The call that adopts an owner's claims. */
export function resumeCommand(instance: string): string {
  return `session_start {"resume":"${instance}"}`;
}

export interface SessionFacts {
  ended_at: number | null;
  disconnected_at: number | null;
  last_seen_at: number;
}

export type SessionStatus = 'live' | 'parked' | 'interrupted' | 'ended' | 'adopted';

/**
 * adopted: another session took its claims over (resume); parked: ended with session_end, claims
 * kept for a resume; ended: said goodbye holding nothing; interrupted: gone without session_end
 * (process or server dead, client disconnected); live otherwise.
 */
export function sessionStatus(row: Pick<SessionFacts, 'ended_at' | 'disconnected_at'> & { adopted_by: string | null }, liveness: Liveness, claims: number): SessionStatus {
  if (row.adopted_by !== null) return 'adopted';
  if (row.ended_at !== null) return claims > 0 ? 'parked' : 'ended';
  if (row.disconnected_at !== null || liveness === 'dead') return 'interrupted';
  return 'live';
}

/**
 * Why a session that never called session_end is interrupted, or null while it may still be
 * working. A client that disconnected, or a process known to be gone, is interrupted at once;
 * when liveness cannot be known (another host, HTTP) the lease decides: the latest lease of its
 * claims, or last_seen + the default lease when it holds none.
 */
export function interruption(s: SessionFacts, liveness: Liveness, now: number, defaultLeaseMs: number, latestLease: number | null): Interruption | null {
  if (s.ended_at !== null) return null;
  if (s.disconnected_at !== null) return 'disconnected';
  if (liveness === 'dead') return 'process_gone';
  if (liveness === 'alive') return null;
  const until = latestLease ?? s.last_seen_at + defaultLeaseMs;
  return now >= until ? 'lease_passed' : null;
}

/** The sections of the shared memory, in memory.md's order. */
export const MEMORY_SECTIONS = ['status', 'decisions', 'known_issues'] as const;
export type MemorySection = (typeof MEMORY_SECTIONS)[number];

/** A memory entry (the schema in schemas/sessions.ts is its one definition). */
export type MemoryEntry = z.output<typeof MemoryEntrySchema>;
export type MemoryEntryView = Omit<MemoryEntry, 'id'>;

export const MEMORY_TITLES: Record<MemorySection, string> = { status: 'Status', decisions: 'Decisions', known_issues: 'Known issues' };

/** memory.md: one heading per section, entries oldest first, each with author and time. */
export function renderMemoryMarkdown(entries: readonly MemoryEntryView[]): string {
  const out = ['# Memory', ''];
  for (const section of MEMORY_SECTIONS) {
    out.push(`## ${MEMORY_TITLES[section]}`, '');
    const mine = entries.filter((e) => e.section === section);
    if (mine.length === 0) out.push('_(none)_');
    for (const e of mine) out.push(`- ${e.text.replace(/\n/g, '\n  ')} — ${e.author}, ${e.at}`);
    out.push('');
  }
  return out.join('\n');
}
