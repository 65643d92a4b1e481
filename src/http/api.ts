import type { ServiceContext } from '../core/context.js';
import type { Store } from '../core/store.js';
import type { AckKind } from '../governance/acks.js';
import { iso, isoDay } from '../core/time.js';
import { resumeCommand, sessionStatus } from '../sessions/domain.js';
import { publishAck } from '../governance/statuses.js';
import { InputError } from '../core/errors.js';
import { cycleReport } from '../report/service.js';
import { Governance } from '../governance/service.js';
import { silentLogger } from '../core/logger.js';
import { PAGE } from '../phases/paging.js';

export interface ApiResult {
  status: number;
  body: unknown;
}

/** What the API reads: the one context (the repository and environment publish the gates an acknowledgement opens as GitHub statuses). */
type ApiContext = Pick<ServiceContext, 'store' | 'config' | 'root' | 'clock' | 'env'>;

/** JSON for the dashboard and for other dashboards: /api/board, /api/sessions, /api/operations, /api/metrics, /api/report, /api/health. */
export function apiRoutes(deps: ApiContext, server: { /** This HTTP server's own state for /api/health (open MCP sessions and their limits). */ health?: () => Record<string, unknown> } = {}) {
  const { store } = deps;
  const agentOfInstance = async (instance: string | null) => (instance === null ? null : ((await store.sessions.get(instance))?.agent ?? null));
  // Kill switch (environment and file; the GitHub variable is read at claims), autonomy, today's cost.
  const governance = new Governance({ config: deps.config, root: deps.root, store, clock: deps.clock, env: deps.env, logger: silentLogger });
  const routes: Record<string, (u: URL, auth: ApiAuth) => Promise<unknown>> = {
    // The board a page at a time, as the board tool pages it (?mega, ?cursor, ?limit); agent names
    // beside instance ids: the board names instances, the sessions know their agents.
    '/api/board': async (u) => {
      const q = u.searchParams;
      const page = await store.phases.boardPage({ mega: q.get('mega') ?? undefined, cursor: q.get('cursor') ?? undefined, limit: int(q.get('limit'), PAGE.limit, PAGE.maxLimit) });
      // One read per distinct instance on the page.
      const instances = new Set<string | null>();
      for (const m of page.megas) {
        for (const o of m.owners) instances.add(o.instance);
        for (const p of m.phases ?? []) instances.add(p.owner).add(p.completed_by);
      }
      const agents = new Map<string | null, string | null>();
      for (const i of instances) agents.set(i, await agentOfInstance(i));
      const agentOf = (instance: string | null) => agents.get(instance) ?? null;
      return {
        ...page,
        megas: page.megas.map((m) => ({
          ...m,
          owners: m.owners.map((o) => ({ ...o, agent: agentOf(o.instance) })),
          ...(m.phases ? { phases: m.phases.map((p) => ({ ...p, owner_agent: agentOf(p.owner), completed_by_agent: agentOf(p.completed_by) })) } : {}),
        })),
      };
    },
    '/api/governance': async (_u, auth) => {
      const cap = governance.dailyCapUsd;
      const today = await governance.costToday();
      const refusal = ackRefusal(auth);
      return {
        autonomy: governance.autonomy,
        kill_switch: governance.killSwitch(),
        kill_switch_variable: deps.config.governance.kill_switch_variable ?? null,
        usage: { today_usd: Math.round(today * 100) / 100, daily_cap_usd: cap, cap_reached: cap !== null && today >= cap },
        // Whether a person at this page can acknowledge, and why not.
        ack: refusal ? { possible: false, reason: refusal } : { possible: true },
      };
    },
    '/api/memory': async (u) => ({ entries: await store.memory.read(['status', 'decisions', 'known_issues'], int(u.searchParams.get('limit'), 10, 100)) }),
    '/api/health': async () => ({ ok: true, ...server.health?.() }),
    '/api/sessions': async () => ({
      sessions: await mapAsync(await store.sessions.list(int(null, 200)), async (s) => {
        const claims = (await store.phases.claimsOf(s.instance)).map((p) => ({ mega: p.mega, id: p.id, name: p.name }));
        const status = sessionStatus(s, await store.sessions.liveness(s.instance), claims.length);
        return {
          instance: s.instance,
          agent: s.agent,
          transport: s.transport,
          status,
          started_at: iso(s.started_at),
          last_seen_at: iso(s.last_seen_at),
          ended_at: iso(s.ended_at),
          adopted_by: s.adopted_by,
          claims,
          // Parked or interrupted claims wait for an adopter: the call that takes them over.
          resume: claims.length && (status === 'parked' || status === 'interrupted') ? resumeCommand(s.instance) : null,
        };
      }),
    }),
    '/api/operations': async (u) => ({ operations: await store.operations.recent(int(u.searchParams.get('limit'), 100, 1000)) }),
    '/api/metrics': (u) => metrics(deps, int(u.searchParams.get('days'), 14, 90)),
    '/api/councils': async (u) => ({
      councils: await mapAsync(await store.councils.recent(int(u.searchParams.get('limit'), 20, 200)), async (c) => ({
        id: c.id,
        created_at: c.created_at,
        title: c.subject.title,
        mega: c.mega,
        phase: c.phase,
        ticket: c.ticket,
        verdict: c.verdict,
        average: c.average,
        sources: c.sources,
        self_reviewed: c.self_reviewed,
        adjustments: c.adjustments,
        comment_url: c.comment_url,
        report_markdown: c.report_markdown,
        acknowledged: (await store.acks.get('council', String(c.id))) !== undefined,
      })),
    }),
    '/api/changes': async (u) => ({
      changes: await mapAsync(await store.changes.recent(int(u.searchParams.get('limit'), 20, 200)), async (c) => ({
        id: c.id,
        created_at: c.at,
        mega: c.mega,
        phase: c.phase,
        level: c.level,
        intent: c.intent,
        stats: c.stats,
        reasons: c.reasons,
        acknowledged: (await store.acks.get('change', String(c.id))) !== undefined,
      })),
    }),
    '/api/report': (u) => cycleReport(deps, { since: u.searchParams.get('since'), until: u.searchParams.get('until') }),
    '/api/dod': async () => ({
      runs: (await store.dod.latestPerPhase()).map((r) => ({ id: r.id, at: iso(r.ts), mega: r.mega, phase: r.phase, passed: r.passed, score: r.score, cached: r.cached, checks: r.checks })),
    }),
  };
  routes['/api'] = async () => ({ routes: Object.keys(routes).filter((r) => r !== '/api') });
  const handler = async (method: string, u: URL, body: unknown, auth: ApiAuth): Promise<ApiResult> => {
    if (u.pathname === '/api/ack') return ack(method, body, auth);
    const route = routes[u.pathname.replace(/\/$/, '')];
    if (!route) return { status: 404, body: { error: `no API route ${u.pathname}`, routes: Object.keys(routes) } };
    if (method !== 'GET') return { status: 405, body: { error: `${u.pathname} only answers GET` } };
    try {
      return { status: 200, body: await route(u, auth) };
    } catch (e) {
      if (e instanceof InputError) return { status: 400, body: { error: e.message } };
      throw e;
    }
  };

  async function ack(method: string, body: unknown, auth: ApiAuth): Promise<ApiResult> {
    if (method !== 'POST') return { status: 405, body: { error: '/api/ack only answers POST' } };
    const refusal = ackRefusal(auth);
    if (refusal) return { status: 403, body: { error: refusal } };
    if (!auth.authorized) return { status: 401, body: { error: 'acknowledging needs "Authorization: Bearer <FACTORY_ACK_TOKEN, else FACTORY_HTTP_TOKEN>"' } };
    const b = (body ?? {}) as { kind?: unknown; ref?: unknown; note?: unknown };
    if (typeof b.kind !== 'string' || !ACK_KINDS.includes(b.kind as AckKind)) return { status: 400, body: { error: `kind: expected one of ${ACK_KINDS.join(', ')}` } };
    // One spelling of an id: the gate looks acknowledgements up by the canonical id ("1", not "01").
    const id = typeof b.ref === 'number' ? b.ref : typeof b.ref === 'string' && /^[1-9]\d{0,15}$/.test(b.ref) ? Number(b.ref) : NaN;
    if (!Number.isSafeInteger(id) || id < 1) return { status: 400, body: { error: 'ref: expected the numeric id of the item' } };
    if (b.note !== undefined && (typeof b.note !== 'string' || b.note.length > 500)) return { status: 400, body: { error: 'note: expected a string of at most 500 characters' } };
    const ref = String(id);
    const what = await ackTarget(store, b.kind as AckKind, ref);
    if (!what) return { status: 404, body: { error: `ref: no ${b.kind} ${JSON.stringify(ref)} awaiting a human` } };
    const r = await store.acks.ack(b.kind as 'council' | 'change', ref, (b.note as string | undefined) ?? null, deps.clock(), what);
    if (!r.already) void publishAck(deps, b.kind as AckKind, ref);
    return { status: 200, body: { ...r, kind: b.kind, ref } };
  }

  return handler;
}

/** What the HTTP server knows of a request: its bearer token, and why this server acknowledges nothing (if so). */
export interface ApiAuth {
  authorized: boolean;
  tokenConfigured: boolean;
  refusal?: string | undefined;
}

/** Why no one can acknowledge through this server, or undefined when a person with the token can. */
function ackRefusal(auth: ApiAuth): string | undefined {
  if (auth.refusal) return auth.refusal;
  if (!auth.tokenConfigured) return 'acknowledging needs the server started with FACTORY_ACK_TOKEN (or FACTORY_HTTP_TOKEN)';
  return undefined;
}

export const ACK_KINDS: readonly AckKind[] = ['council', 'change'];

/** What a human may acknowledge: a rejected council (opens its gate) or an Ask change; null when `ref` is neither. */
export async function ackTarget(store: Store, kind: AckKind, ref: string): Promise<string | null> {
  if (kind === 'council') {
    const c = await store.councils.get(Number(ref));
    return c && c.verdict === 'reject' ? `rejected council #${c.id} on "${c.subject.title}"` : null;
  }
  const c = await store.changes.get(Number(ref));
  return c && c.level === 'ask' ? `Ask change #${c.id} of ${c.mega}/${c.phase}` : null;
}

/** `f` over `xs` one at a time, in order (each may read the database). */
async function mapAsync<T, U>(xs: readonly T[], f: (x: T) => Promise<U>): Promise<U[]> {
  const out: U[] = [];
  for (const x of xs) out.push(await f(x));
  return out;
}

function int(v: string | null, dflt: number, max = dflt): number {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : dflt;
}

/** Throughput per day and totals; more series join as the other practices record them. */
export async function metrics(deps: Pick<ServiceContext, 'store' | 'clock'>, days: number) {
  const councils = await deps.store.metrics.councils(); // counted in SQL: no reports parsed per refresh
  // PRs and regressions come from each phase's latest Definition-of-Done run, counted on its day.
  const runs = await deps.store.dod.latestPerPhase();
  const status = (r: (typeof runs)[number], id: string) => r.checks.find((c) => c.id === id)?.status;
  const perDay = new Map<string, { prs: number; regressions: number }>();
  for (const r of runs) {
    const d = perDay.get(isoDay(r.ts)) ?? { prs: 0, regressions: 0 };
    if (status(r, 'pr_created') === 'pass') d.prs++;
    if (status(r, 'no_regressions') === 'fail') d.regressions++;
    perDay.set(isoDay(r.ts), d);
  }
  const series = (await deps.store.metrics.daily(deps.clock(), days)).map((d) => ({ ...d, prs: perDay.get(d.day)?.prs ?? 0, regressions: perDay.get(d.day)?.regressions ?? 0 }));
  return {
    days: series,
    totals: await deps.store.metrics.totals(),
    kpis: {
      council_pass_rate: councils.n ? councils.passed / councils.n : null,
      councils: councils.n,
      prs: runs.length ? runs.filter((r) => status(r, 'pr_created') === 'pass').length : null,
      regressions: runs.length ? runs.filter((r) => status(r, 'no_regressions') === 'fail').length : null,
    },
  };
}
