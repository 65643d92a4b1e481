// factory-mcp dashboard: plain JS, no build step, no CDN. Reads /api/* and re-reads on every
// Server-Sent Event from /events (the server pushes when any process writes the database).

const $ = (sel) => document.querySelector(sel);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const state = { board: null, sessions: null, operations: null, metrics: null, extras: {} };

async function getJson(path) {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// Optional sections: each practice that records data offers an /api route; absent ones are skipped.
const EXTRAS = [
  { key: 'councils', path: '/api/councils', render: renderCouncils },
  { key: 'changes', path: '/api/changes', render: renderChanges },
  { key: 'dod', path: '/api/dod', render: renderDod },
];

async function refresh() {
  const [board, sessions, operations, metrics] = await Promise.all(['/api/board', '/api/sessions', '/api/operations?limit=40', '/api/metrics'].map(getJson));
  Object.assign(state, { board, sessions, operations, metrics });
  state.routes ??= (await getJson('/api')).routes;
  await Promise.all(EXTRAS.map(async (x) => {
    state.extras[x.key] = state.routes.includes(x.path) ? await getJson(x.path) : null;
  }));
  render();
}

function render() {
  renderTotals();
  renderMegas();
  renderSessions();
  renderMetrics();
  $('#extras .body').innerHTML = EXTRAS.map((x) => (state.extras[x.key] ? x.render(state.extras[x.key]) : '')).join('') || '<p class="empty">No council reviews, change classifications or DoD runs yet.</p>';
  renderOperations();
}

function renderTotals() {
  const t = state.metrics?.totals;
  const live = (state.sessions?.sessions ?? []).filter((s) => s.status === 'live').length;
  $('#totals').textContent = t ? `${t.done}/${t.phases} phases done · ${t.points_done}/${t.points_total} pts · ${live} live session${live === 1 ? '' : 's'}` : '';
}

function leaseLeft(iso) {
  if (!iso) return '';
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (s <= 0) return 'lease expired';
  if (s < 120) return `${s}s left`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m left` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m left`;
}

function chip(p) {
  let sub = '';
  if (p.status === 'claimed') sub = `${esc(p.owner)}${p.owner_state ? ` <span class="tag ${esc(p.owner_state)}">${esc(p.owner_state)}</span>` : ''} · <span class="lease" data-exp="${esc(p.lease_expires_at)}">${leaseLeft(p.lease_expires_at)}</span>`;
  else if (p.status === 'done') sub = `${esc(p.completed_by)} · ${time(p.completed_at)}`;
  else if (p.status === 'blocked') sub = `waits on ${p.deps.map(esc).join(', ')}`;
  else sub = p.deps.length ? `after ${p.deps.map(esc).join(', ')}` : 'no deps';
  const pts = p.points == null ? '' : ` · ${p.points} pt${p.points === 1 ? '' : 's'}`;
  const cp = p.checkpoint && p.status === 'claimed' ? `<div class="sub">✎ ${esc(p.checkpoint.percent ?? '')}${p.checkpoint.percent != null ? '% ' : ''}${esc((p.checkpoint.next ?? [])[0] ?? p.checkpoint.note ?? '')}</div>` : '';
  const resume = p.owner_state && p.status === 'claimed' ? `<div class="sub resume" title="adopts this session's claims with fresh tokens"><code>${esc(p.resume)}</code></div>` : '';
  return `<div class="chip ${p.status}${p.owner_state ? ` owner-${esc(p.owner_state)}` : ''}" data-phase="${esc(p.mega)}/${esc(p.id)}" title="${esc(p.tickets.join(', '))}"><span class="id">${esc(p.id)}</span>${esc(p.name)}<div class="sub">${sub}${pts}</div>${cp}${resume}</div>`;
}

function renderMegas() {
  const megas = state.board?.megas ?? [];
  if (megas.length === 0) {
    $('#megas .body').innerHTML = '<p class="empty">No MEGA planned yet. An agent plans one with the plan_mega tool.</p>';
    return;
  }
  const lanes = [['ready', 'Ready'], ['blocked', 'Blocked'], ['claimed', 'Claimed'], ['done', 'Done']];
  $('#megas .body').innerHTML = megas.map((m) => `
    <div class="mega" data-mega="${esc(m.key)}">
      <div class="mega-head"><h3>${esc(m.key)} · ${esc(m.title)}</h3><span class="meta">${m.done}/${m.total} phases · ${m.points_done}/${m.points_total} pts</span></div>
      <div class="bar"><span data-pct="${m.total ? Math.round((m.done / m.total) * 100) : 0}"></span></div>
      <div class="lanes">${lanes.map(([k, label]) => {
        const ps = m.phases.filter((p) => p.status === k);
        return `<div class="lane lane-${k}"><h4>${label} (${ps.length})</h4>${ps.map(chip).join('')}</div>`;
      }).join('')}</div>
    </div>`).join('');
  // Widths through the CSSOM: the page's CSP forbids inline style attributes.
  document.querySelectorAll('.bar > span[data-pct]').forEach((el) => { el.style.width = `${el.dataset.pct}%`; });
}

function renderSessions() {
  const ss = state.sessions?.sessions ?? [];
  const over = (s) => s.status === 'ended' || s.status === 'adopted';
  const shown = ss.filter((s) => !over(s)).concat(ss.filter(over).slice(0, 5));
  $('#sessions .body').innerHTML = shown.length === 0 ? '<p class="empty">No sessions yet.</p>' : `<table><tr><th>instance</th><th>agent</th><th>status</th><th>claims</th><th>last seen</th></tr>${shown.map((s) => `
    <tr class="session ${s.status}"><td>${esc(s.instance)}</td><td>${esc(s.agent ?? '')} <span class="tag">${esc(s.transport)}</span></td><td><span class="tag ${s.status}">${s.status}</span></td>
    <td>${s.claims.map((c) => `${esc(c.mega)}/${esc(c.id)}`).join(', ')}${s.resume ? `<div class="sub resume"><code>${esc(s.resume)}</code></div>` : s.adopted_by ? `<div class="sub">→ ${esc(s.adopted_by)}</div>` : ''}</td><td>${time(s.last_seen_at)}</td></tr>`).join('')}</table>`;
}

function bars(series, value, label) {
  const vals = series.map(value);
  const max = Math.max(1, ...vals.map((v) => v ?? 0));
  const w = 100 / series.length;
  return `<svg viewBox="0 0 100 60" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">${series.map((d, i) => {
    const v = vals[i];
    const h = v == null ? 0 : (v / max) * 56;
    return `<rect x="${i * w + w * 0.15}" y="${60 - h}" width="${w * 0.7}" height="${h}"><title>${esc(d.day)}: ${v == null ? 'none' : Math.round(v * 100) / 100}</title></rect>`;
  }).join('')}</svg>`;
}

function renderMetrics() {
  const m = state.metrics;
  if (!m) return;
  const k = m.kpis ?? {};
  const kpi = (label, v) => `<div class="kpi"><b>${v == null ? '–' : esc(v)}</b><span>${label}</span></div>`;
  const chart = (cls, label, value) => `<figure class="chart ${cls}"><figcaption>${label}</figcaption>${bars(m.days, value, label)}</figure>`;
  $('#metrics .body').innerHTML = `
    <div class="charts">
      ${chart('points', 'story points completed / day', (d) => d.points)}
      ${chart('phases', 'phases completed / day', (d) => d.phases)}
      ${chart('prs', 'PRs (DoD) / day', (d) => d.prs)}
      ${chart('regressions', 'regressions (DoD) / day', (d) => d.regressions)}
      ${chart('councils', 'council pass rate / day', (d) => (d.councils ? d.councils_passed / d.councils : null))}
    </div>
    <div class="kpis">${kpi('phases done', m.totals.done)}${kpi('points done', m.totals.points_done)}${kpi('PRs', k.prs)}${kpi('regressions', k.regressions)}${kpi('council pass rate', k.council_pass_rate == null ? null : `${Math.round(k.council_pass_rate * 100)}%`)}</div>`;
}

function renderOperations() {
  const ops = state.operations?.operations ?? [];
  $('#operations .body').innerHTML = ops.length === 0 ? '<p class="empty">Nothing logged yet.</p>' : `<table class="ops">${ops.slice().reverse().map((o) => `
    <tr><td>${time(new Date(o.ts).toISOString())}</td><td>#${o.seq}</td><td><span class="tag">${esc(o.kind)}</span></td><td>${esc(o.message)}</td></tr>`).join('')}</table>`;
}

function ackButton(kind, ref, acked) {
  if (acked) return `<span class="tag pass">acknowledged</span>`;
  return `<button data-ack-kind="${esc(kind)}" data-ack-ref="${esc(ref)}">acknowledge…</button>`;
}

function renderCouncils(d) {
  const cs = d.councils ?? [];
  if (cs.length === 0) return '';
  return `<h2>Council verdicts</h2><table><tr><th>subject</th><th>verdict</th><th>average</th><th>report</th></tr>${cs.map((c) => `
    <tr><td>${esc(c.title)}${c.mega ? ` <span class="tag">${esc(c.mega)}/${esc(c.phase ?? '')}</span>` : ''}</td><td><span class="tag ${esc(c.verdict)}">${esc(c.verdict)}</span>${c.self_reviewed ? ' <span class="tag self" title="every review was written by the agent that asked for the council">self-reviewed</span>' : ''} ${c.verdict === 'reject' ? ackButton('council', c.id, c.acknowledged) : ''}</td>
    <td>${c.average == null ? '' : Number(c.average).toFixed(2)}</td><td><details><summary>report</summary><pre>${esc(c.report_markdown)}</pre></details></td></tr>`).join('')}</table>`;
}

function renderChanges(d) {
  const cs = d.changes ?? [];
  if (cs.length === 0) return '';
  return `<h2>Ship / Show / Ask</h2><table><tr><th>when</th><th>phase</th><th>level</th><th>reasons</th></tr>${cs.map((c) => `
    <tr><td>${time(c.created_at)}</td><td>${esc(c.mega ?? '')}/${esc(c.phase ?? '')}</td><td><span class="tag ${esc(c.level)}">${esc(c.level)}</span> ${c.level === 'ask' ? ackButton('change', c.id, c.acknowledged) : ''}</td>
    <td>${(c.reasons ?? []).slice(0, 3).map((r) => esc(r.rule)).join(', ')}</td></tr>`).join('')}</table>`;
}

function renderDod(d) {
  const runs = d.runs ?? [];
  if (runs.length === 0) return '';
  const mark = { pass: '✔', fail: '✘', skip: '–', error: '!' };
  return `<h2>Definition of Done</h2><table><tr><th>phase</th><th>score</th><th>checks</th></tr>${runs.map((r) => `
    <tr><td>${esc(r.mega ?? '')}/${esc(r.phase ?? '')}</td><td><span class="tag ${r.passed ? 'pass' : 'fail'}">${esc(r.score)}</span></td>
    <td>${(r.checks ?? []).map((c) => `<span class="tag ${esc(c.status)}" title="${esc(c.detail)}">${mark[c.status] ?? '?'} ${esc(c.id)}</span>`).join(' ')}</td></tr>`).join('')}</table>`;
}

// The human gate: acknowledging an Ask change or a rejected council needs the server's token.
document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-ack-kind]');
  if (!b) return;
  const token = window.prompt('Token to acknowledge (FACTORY_ACK_TOKEN, else FACTORY_HTTP_TOKEN):');
  if (!token) return;
  const r = await fetch('/api/ack', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ kind: b.dataset.ackKind, ref: b.dataset.ackRef }) });
  if (!r.ok) window.alert(`Not acknowledged: ${(await r.json()).error ?? r.status}`);
});

// Lease countdowns tick locally between updates.
setInterval(() => document.querySelectorAll('.lease').forEach((el) => { el.textContent = leaseLeft(el.dataset.exp); }), 1000);

let pending = null;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refresh().catch(showError); }, 50);
}
function showError(e) { $('#live').textContent = `error: ${e.message}`; $('#live').className = 'live off'; }

const events = new EventSource('/events');
events.addEventListener('hello', () => { $('#live').textContent = 'live'; $('#live').className = 'live on'; scheduleRefresh(); });
events.addEventListener('change', scheduleRefresh);
events.onerror = () => { $('#live').textContent = 'reconnecting…'; $('#live').className = 'live off'; };
refresh().catch(showError);
