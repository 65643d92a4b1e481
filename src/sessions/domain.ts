/** Pure session logic: when a session counts as interrupted, the cost day, the readable exports. */
import type { Liveness } from '../phases/lease.js';
import { tableCell as cell } from '../core/text.js';

export type Interruption = 'process_gone' | 'disconnected' | 'lease_passed' | 'parked';

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

/** Start of the UTC day holding `now` (the cost cap counts per UTC day). */
export function utcDayStart(now: number): number {
  return now - (((now % 86_400_000) + 86_400_000) % 86_400_000);
}

export interface MemoryEntryView {
  section: 'status' | 'decisions' | 'known_issues';
  text: string;
  author: string;
  at: string;
}

export const MEMORY_TITLES: Record<MemoryEntryView['section'], string> = { status: 'Status', decisions: 'Decisions', known_issues: 'Known issues' };

/** memory.md: one heading per section, entries oldest first, each with author and time. */
export function renderMemoryMarkdown(entries: readonly MemoryEntryView[]): string {
  const out = ['# Memory', ''];
  for (const section of Object.keys(MEMORY_TITLES) as MemoryEntryView['section'][]) {
    out.push(`## ${MEMORY_TITLES[section]}`, '');
    const mine = entries.filter((e) => e.section === section);
    if (mine.length === 0) out.push('_(none)_');
    for (const e of mine) out.push(`- ${e.text.replace(/\n/g, '\n  ')} — ${e.author}, ${e.at}`);
    out.push('');
  }
  return out.join('\n');
}

export interface PlanMegaView {
  key: string;
  title: string;
  source: string | null;
  done: number;
  total: number;
  phases: {
    id: number | string;
    name: string;
    points: number | null;
    tickets: string[];
    deps: (number | string)[];
    status: string;
    owner: string | null;
    completed_by: string | null;
    checkpoint?: { percent: number | null; next: string[] } | null | undefined;
  }[];
}

/** plan.md: a table per MEGA, the tracker view humans read in git (sync_plan's one-MEGA checklist is `renderMegaChecklist`). */
export function renderPlanMarkdown(megas: readonly PlanMegaView[]): string {
  const out = ['# Plan', ''];
  if (megas.length === 0) out.push('No MEGA planned yet.', '');
  for (const m of megas) {
    out.push(`## ${m.key} — ${m.title}`, '', `${m.done}/${m.total} phases done${m.source ? ` · source: ${m.source}` : ''}`, '');
    out.push('| id | phase | pts | tickets | deps | status | who | progress |', '|---|---|---|---|---|---|---|---|');
    for (const p of m.phases) {
      const who = p.status === 'done' ? (p.completed_by ?? '') : (p.owner ?? '');
      const progress = p.checkpoint ? `${p.checkpoint.percent === null ? '' : `${p.checkpoint.percent}% `}${p.checkpoint.next.length ? `next: ${p.checkpoint.next[0]}` : ''}` : '';
      out.push(`| ${cell(String(p.id))} | ${cell(p.name)} | ${p.points ?? ''} | ${cell(p.tickets.join(', '))} | ${cell(p.deps.join(', '))} | ${p.status} | ${cell(who)} | ${cell(progress.trim())} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** A claim-file time: ISO text, or a number (seconds before 1e11, milliseconds after). */
export function parseStamp(v: string | number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v < 1e11 ? Math.round(v * 1000) : Math.round(v);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? NaN : ms;
}

/** Whether a GitHub variable's value turns the kill switch on. */
export function truthy(v: string | undefined | null): boolean {
  return v !== undefined && v !== null && /^(1|true|yes|on|kill|stop)$/i.test(v.trim());
}
