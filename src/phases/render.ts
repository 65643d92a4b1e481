import type { BoardMega, BoardPage, BoardPhase } from './service.js';
import { clip, tableCell as cell } from '../core/text.js';

const MARK: Record<BoardPhase['status'], string> = { done: '✔', claimed: '▶', ready: '○', blocked: '·' };
const COLOR: Record<BoardPhase['status'], string> = { done: '\x1b[32m', claimed: '\x1b[33m', ready: '\x1b[36m', blocked: '\x1b[90m' };

/**
 * The board as terminal lines: one header per MEGA and one line per phase it carries; a MEGA
 * given without phases (a summary page) is one line with its blocked count and owners.
 */
export function renderBoardLines(megas: readonly BoardMega[], opts: { color: boolean; now?: number }): string[] {
  if (megas.length === 0) return ['No MEGA planned yet. Plan one with the plan_mega tool.'];
  const now = opts.now ?? Date.now();
  const lines: string[] = [];
  for (const m of megas) {
    const head = `${m.key}  ${m.title}  — ${m.done}/${m.total} done, ${m.claimed} claimed, ${m.ready} ready`;
    if (!m.phases) {
      const owners = m.owners.map((o) => (o.phases === 1 ? o.instance : `${o.instance} ×${o.phases}`)).join(', ');
      lines.push(`${head}, ${m.blocked} blocked · ${fmtPts(m.points_done)}/${fmtPts(m.points_total)} pts${owners ? ` · ${owners}` : ''}`);
      continue;
    }
    lines.push(`${head} · ${fmtPts(m.points_done)}/${fmtPts(m.points_total)} pts`);
    const idWidth = Math.max(0, ...m.phases.map((p) => String(p.id).length));
    const nameWidth = Math.min(40, Math.max(0, ...m.phases.map((p) => p.name.length)));
    for (const p of m.phases) {
      let detail = '';
      if (p.status === 'done') detail = `done by ${p.completed_by} ${time(p.completed_at)}`;
      else if (p.status === 'claimed')
        detail = `claimed by ${p.owner}${p.owner_state ? ` (${p.owner_state}: ${p.resume} adopts it)` : ''} ${time(p.claimed_at)}, lease ${left(p.lease_expires_at, now)}${progress(p.checkpoint)}${reserved(p.files)}`;
      else if (p.status === 'blocked') detail = `waits on ${(p.waits_on ?? p.deps).join(', ')}`;
      else detail = 'ready';
      const pts = p.points === null ? '' : `${fmtPts(p.points)} pt${p.points === 1 ? '' : 's'}`;
      const line = `  ${MARK[p.status]} ${String(p.id).padEnd(idWidth)}  ${clip(p.name, nameWidth).padEnd(nameWidth)}  ${pts.padStart(6)}  ${detail}`;
      lines.push(opts.color ? `${COLOR[p.status]}${line}\x1b[0m` : line);
    }
  }
  return lines;
}

/** A board answer as text: its lines, then how to read on (the next page, or a MEGA's phases). */
export function renderBoardPage(page: BoardPage, opts: { color: boolean; now?: number }): string[] {
  const lines = renderBoardLines(page.megas, opts);
  const call = (args: Record<string, string>) => `board ${JSON.stringify(args)}`;
  const m = page.megas[0];
  if (!m) return lines;
  // Phases on the page and a cursor: a page of one MEGA (a summary page with phases is never cut).
  if (page.cursor && m.phases) lines.push(`${m.phases.length} of ${m.total} phases here; next page: ${call({ mega: m.key, cursor: page.cursor })}`);
  else if (page.cursor) lines.push(`${page.megas.length} of ${page.megas_total} MEGAs here; next page: ${call({ cursor: page.cursor })}; phases of one: ${call({ mega: m.key })}`);
  else if (!m.phases) lines.push(`phases of one MEGA: ${call({ mega: m.key })}`);
  return lines;
}

/** The latest checkpoint of a claimed phase, as ` · 40%, next: auth`. */
function progress(c: BoardPhase['checkpoint']): string {
  if (!c) return '';
  const parts = [c.percent !== null ? `${c.percent}%` : '', c.next[0] ? `next: ${clip(c.next[0], 60)}` : ''].filter(Boolean);
  return parts.length ? ` · ${parts.join(', ')}` : '';
}

/** A claim's reserved globs, compact: ` · files src/api/**, docs/a.md +3`. */
function reserved(files: readonly string[] | undefined): string {
  if (!files?.length) return '';
  const shown = files.slice(0, 3).map((f) => clip(f, 40));
  return ` · files ${shown.join(', ')}${files.length > 3 ? ` +${files.length - 3}` : ''}`;
}

function fmtPts(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function time(isoString: string | null): string {
  return isoString ? isoString.slice(11, 19) : '';
}

function left(isoString: string | null, now: number): string {
  if (!isoString) return '-';
  const ms = Date.parse(isoString) - now;
  if (ms <= 0) return 'expired';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s left`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m left` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m left`;
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
