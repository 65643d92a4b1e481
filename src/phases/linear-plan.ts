/**
 * A Linear MEGA issue and its sub-issues as a factory plan: each child is a phase (id = its
 * identifier), estimate → points, a completed or canceled state → done, and `blocks` /
 * `blocked_by` relations between children → deps. Pure: the fetching lives in integrations/linear.ts.
 */

export interface LinearChild {
  uuid: string;
  identifier: string;
  title: string;
  estimate: number | null;
  /** Linear workflow state type: triage, backlog, unstarted, started, completed, canceled. */
  state_type: string | null;
  state_name: string | null;
  /** Outgoing relations: `related` is the other issue's uuid. */
  relations: { type: string; related: string }[];
}

export interface LinearMega {
  uuid: string;
  identifier: string;
  title: string;
  url: string;
  children: LinearChild[];
}

export interface LinearPlan {
  key: string;
  title: string;
  source: string;
  phases: { id: string; name: string; points?: number; tickets: string[]; deps: string[] }[];
  /** Phases whose issue is done in Linear. */
  done: string[];
  /** Relations to issues outside the MEGA, which cannot become deps. */
  external_blockers: { phase: string; issue: string }[];
}

const DONE_STATES = new Set(['completed', 'canceled']);

export function planFromLinear(mega: LinearMega): LinearPlan {
  const byUuid = new Map(mega.children.map((c) => [c.uuid, c.identifier]));
  const deps = new Map<string, Set<string>>(mega.children.map((c) => [c.identifier, new Set<string>()]));
  const external: { phase: string; issue: string }[] = [];
  for (const c of mega.children) {
    for (const r of c.relations) {
      const other = byUuid.get(r.related);
      const type = r.type.toLowerCase().replace(/[\s-]/g, '_');
      if (type === 'blocks') {
        if (other) deps.get(other)?.add(c.identifier);
      } else if (type === 'blocked_by' || type === 'blockedby') {
        if (other) deps.get(c.identifier)?.add(other);
        else external.push({ phase: c.identifier, issue: r.related });
      }
    }
  }
  return {
    key: mega.identifier,
    title: mega.title,
    source: mega.url,
    phases: mega.children.map((c) => ({
      id: c.identifier,
      name: c.title,
      ...(c.estimate !== null ? { points: c.estimate } : {}),
      tickets: [c.identifier],
      deps: [...(deps.get(c.identifier) ?? [])].filter((d) => d !== c.identifier),
    })),
    done: mega.children.filter((c) => c.state_type !== null && DONE_STATES.has(c.state_type)).map((c) => c.identifier),
    external_blockers: external,
  };
}

export interface PlanPhaseView {
  id: number | string;
  name: string;
  points: number | null;
  status: string;
  owner: string | null;
  deps: (number | string)[];
}

/** sync_plan's `plan_markdown`: one MEGA as a Markdown checklist (the exported plan.md is `renderPlanMarkdown`, a table per MEGA). */
export function renderMegaChecklist(m: { key: string; title: string; source: string | null; phases: readonly PlanPhaseView[] }): string {
  const done = m.phases.filter((p) => p.status === 'done');
  const pts = (xs: readonly PlanPhaseView[]) => xs.reduce((a, p) => a + (p.points ?? 0), 0);
  const lines = [`# ${m.key}: ${m.title}`, '', `${done.length}/${m.phases.length} phases done · ${pts(done)}/${pts(m.phases)} points${m.source ? ` · source: ${m.source}` : ''}`, ''];
  for (const p of m.phases) {
    const box = p.status === 'done' ? '[x]' : '[ ]';
    const extra = [
      p.points !== null ? `${p.points} pts` : null,
      p.deps.length ? `after ${p.deps.join(', ')}` : null,
      p.status === 'claimed' && p.owner ? `claimed by ${p.owner}` : p.status !== 'done' ? p.status : null,
    ].filter(Boolean);
    lines.push(`- ${box} **${p.id}** ${p.name}${extra.length ? ` — ${extra.join(' · ')}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
