import type { Config } from '../../schemas/config.js';
import type { Store } from '../store/index.js';
import { sessionStatus } from '../store/sessions.js';

export interface ApiResult {
  status: number;
  body: unknown;
}

export interface ApiDeps {
  store: Store;
  config: Config;
  clock: () => number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** JSON for the dashboard and for other dashboards: /api/board, /api/sessions, /api/operations, /api/metrics. */
export function apiRoutes(deps: ApiDeps) {
  const { store } = deps;
  const routes: Record<string, (u: URL) => unknown> = {
    '/api/board': () => ({ megas: store.phases.board() }),
    '/api/sessions': () => ({
      sessions: store.sessions.list(int(null, 200)).map((s) => ({
        instance: s.instance,
        agent: s.agent,
        transport: s.transport,
        status: sessionStatus(s, store.sessions.liveness(s.instance)),
        started_at: iso(s.started_at),
        last_seen_at: iso(s.last_seen_at),
        ended_at: iso(s.ended_at),
        claims: store.phases.claimsOf(s.instance).map((p) => ({ mega: p.mega, id: p.id, name: p.name })),
      })),
    }),
    '/api/operations': (u) => ({ operations: store.operations.recent(int(u.searchParams.get('limit'), 100, 1000)) }),
    '/api/metrics': (u) => metrics(deps, int(u.searchParams.get('days'), 14, 90)),
  };
  routes['/api'] = () => ({ routes: Object.keys(routes).filter((r) => r !== '/api') });
  return async (method: string, u: URL, _body: unknown, _auth: { authorized: boolean; tokenConfigured: boolean }): Promise<ApiResult> => {
    const route = routes[u.pathname.replace(/\/$/, '')];
    if (!route) return { status: 404, body: { error: `no API route ${u.pathname}`, routes: Object.keys(routes) } };
    if (method !== 'GET') return { status: 405, body: { error: `${u.pathname} only answers GET` } };
    return { status: 200, body: route(u) };
  };
}

function int(v: string | null, dflt: number, max = dflt): number {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : dflt;
}

/** Throughput per day and totals; more series join as the other practices record them. */
export function metrics(deps: ApiDeps, days: number) {
  return { days: deps.store.metrics.daily(deps.clock(), days), totals: deps.store.metrics.totals() };
}
