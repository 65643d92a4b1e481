// factory-mcp dashboard: plain JS, no build step, no CDN. Reads /api/* and re-reads on every
// Server-Sent Event from /events (the server pushes when any process writes the database).
// Markup is built from templates whose every value goes through esc(); council reports (free
// text from agents) are built as DOM nodes with textContent, never parsed as HTML.

// The one duration format (45s, 12m, 3h 05m, 2d 4h), served from src/report/domain.ts.
import { duration } from './format.js';

const $ = (sel) => document.querySelector(sel);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const state = { board: null, sessions: null, operations: null, metrics: null, governance: null, memory: null, report: null, readAt: {}, extras: {} };

const ago = (iso) => (iso ? `${duration(Date.now() - Date.parse(iso))} ago` : '');

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
const OPTIONAL = [
  ['governance', '/api/governance'],
  ['memory', '/api/memory'],
  ['report', '/api/report', 60_000],
];

async function refresh() {
  // The board first: it paints as soon as its page arrives, before the slower panels (metrics, report).
  const board = getJson('/api/board').then(async (b) => {
    await syncBoard(b);
    state.board = b;
    renderMegas();
  });
  const [, sessions, operations, metrics] = await Promise.all([board, ...['/api/sessions', '/api/operations?limit=40', '/api/metrics'].map(getJson)]);
  Object.assign(state, { sessions, operations, metrics });
  state.routes ??= (await getJson('/api')).routes;
  const has = (p) => state.routes.includes(p);
  await Promise.all([
    ...EXTRAS.map(async (x) => {
      state.extras[x.key] = has(x.path) ? await getJson(x.path) : null;
    }),
    ...OPTIONAL.map(async ([key, path, everyMs]) => {
      // The weekly report reads a week of rows: re-read at most once a minute, not on every change.
      if (everyMs && state[key] && Date.now() - (state.readAt[key] ?? 0) < everyMs) return;
      state[key] = has(path) ? await getJson(path) : null;
      state.readAt[key] = Date.now();
    }),
  ]);
  render();
}

function render() {
  renderTotals();
  renderGovernance();
  renderMegas();
  renderSessions();
  renderMemory();
  renderMetrics();
  renderReport();
  renderExtras();
  renderOperations();
}

function renderTotals() {
  const t = state.metrics?.totals;
  const live = (state.sessions?.sessions ?? []).filter((s) => s.status === 'live').length;
  $('#totals').textContent = t ? `${t.done}/${t.phases} phases done · ${t.points_done}/${t.points_total} pts · ${live} live session${live === 1 ? '' : 's'}` : '';
}

/** An instance id with the agent that runs it: `claude-code t4821`. */
function who(instance, agent) {
  if (!instance) return '';
  return `${agent ? `<span class="agent">${esc(agent)}</span> ` : ''}<span class="inst">${esc(instance)}</span>`;
}

function leaseLeft(iso) {
  if (!iso) return '';
  const ms = Date.parse(iso) - Date.now();
  return ms <= 0 ? 'lease expired' : `${duration(ms)} left`;
}

function chip(p) {
  let sub = '';
  if (p.status === 'claimed')
    sub = `${who(p.owner, p.owner_agent)}${p.owner_state ? ` <span class="tag ${esc(p.owner_state)}">${esc(p.owner_state)}</span>` : ''} · <span class="lease" data-exp="${esc(p.lease_expires_at)}">${leaseLeft(p.lease_expires_at)}</span>`;
  else if (p.status === 'done') sub = `${who(p.completed_by, p.completed_by_agent)} · <span class="ago" data-at="${esc(p.completed_at)}">${ago(p.completed_at)}</span>`;
  else if (p.status === 'blocked') sub = `waits on ${p.deps.map(esc).join(', ')}`;
  else sub = p.deps.length ? `after ${p.deps.map(esc).join(', ')}` : 'no deps';
  const pts = p.points == null ? '' : ` · ${p.points} pt${p.points === 1 ? '' : 's'}`;
  const cp =
    p.checkpoint && p.status === 'claimed'
      ? `<div class="sub">✎ ${esc(p.checkpoint.percent ?? '')}${p.checkpoint.percent != null ? '% ' : ''}${esc((p.checkpoint.next ?? [])[0] ?? p.checkpoint.note ?? '')}</div>`
      : '';
  // Reserved files (globs) of a claim, compact: the first two, the rest counted, all in the tooltip.
  const files =
    p.files && p.files.length && p.status === 'claimed'
      ? `<div class="sub files" title="${esc(p.files.join('\n'))}">⛁ ${p.files.slice(0, 2).map(esc).join(', ')}${p.files.length > 2 ? ` +${p.files.length - 2}` : ''}</div>`
      : '';
  const why = p.owner_state === 'parked' ? 'parked at session_end' : 'its session is gone';
  const resume =
    p.owner_state && p.status === 'claimed' ? `<div class="sub resume" title="adopts this session's claims with fresh tokens">${esc(why)}; resume with <code>${esc(p.resume)}</code></div>` : '';
  return `<div class="chip ${p.status}${p.owner_state ? ` owner-${esc(p.owner_state)}` : ''}" data-phase="${esc(p.mega)}/${esc(p.id)}" title="${esc(p.tickets.join(', '))}"><span class="id">${esc(p.id)}</span>${esc(p.name)}<div class="sub">${sub}${pts}</div>${cp}${files}${resume}</div>`;
}

// ------------------------------------------------------------------ the board
// A small board (at most 100 phases) comes whole in one /api/board answer and shows as lanes. A
// large one comes as a summary per MEGA, a page at a time: the list is virtual (only the rows in
// sight are in the DOM), the next page loads as it scrolls into sight, and a MEGA's phases load,
// a page at a time too, when it is opened.
const LANES = [
  ['ready', 'Ready'],
  ['blocked', 'Blocked'],
  ['claimed', 'Claimed'],
  ['done', 'Done'],
];
const ROW = 76; // px: a closed MEGA row until it is measured
const OVERSCAN = 800; // px rendered beyond each edge of the visible part
const big = { active: false, megas: [], pages: [], next: null, total: 0, loading: null, open: new Map(), heights: new Map(), visible: [0, 0] };
const boardUrl = (q) => `/api/board?${new window.URLSearchParams(q)}`;

/** A small board: one answer with every MEGA's phases and no cursor. */
const wholeBoard = (b) => !b.cursor && b.megas.every((m) => m.phases);

function megaHead(m, toggle = '') {
  return `<div class="mega-head">${toggle}<h3>${esc(m.key)} · ${esc(m.title)}</h3><span class="meta">${m.done}/${m.total} phases · ${m.points_done}/${m.points_total} pts</span></div>
      <div class="bar"><span data-pct="${m.total ? Math.round((m.done / m.total) * 100) : 0}"></span></div>`;
}

/** The four lanes of a MEGA's phases; `count(k)` heads each lane (the MEGA's own counts when only some phases are loaded). */
function lanes(phases, count = (k, ps) => ps.length) {
  return `<div class="lanes">${LANES.map(([k, label]) => {
    const ps = phases.filter((p) => p.status === k);
    return `<div class="lane lane-${k}"><h4>${label} (${count(k, ps)})</h4>${ps.map(chip).join('')}</div>`;
  }).join('')}</div>`;
}

function renderMegas() {
  const megas = state.board?.megas ?? [];
  if (megas.length === 0) {
    $('#megas .body').innerHTML = '<p class="empty">No MEGA planned yet. An agent plans one with the plan_mega tool.</p>';
    return;
  }
  if (big.active) return renderBig();
  $('#megas .body').innerHTML = megas.map((m) => `<div class="mega" data-mega="${esc(m.key)}">${megaHead(m)}${lanes(m.phases)}</div>`).join('');
  widths();
}

/** After a change: the first page decides small or large; a large board re-reads the pages in sight and the opened MEGAs. */
async function syncBoard(first) {
  if (wholeBoard(first)) {
    big.active = false;
    return;
  }
  if (!big.active) Object.assign(big, { active: true, megas: first.megas, pages: [{ cursor: null, count: first.megas.length }], next: first.cursor ?? null, visible: [0, 0] });
  else {
    const [from, to] = big.visible;
    const reads = [];
    for (let i = 0, start = 0; i < big.pages.length; start += big.pages[i].count, i++)
      if (i === 0 || (start <= to && start + big.pages[i].count >= from)) reads.push(i === 0 ? Promise.resolve([0, first]) : getJson(boardUrl({ cursor: big.pages[i].cursor })).then((r) => [i, r]));
    for (const [i, r] of await Promise.all(reads)) replacePage(i, r);
    await Promise.all([...big.open.keys()].map(reloadPhases));
  }
  big.total = first.megas_total;
}

function replacePage(i, r) {
  const start = big.pages.slice(0, i).reduce((n, p) => n + p.count, 0);
  big.megas.splice(start, big.pages[i].count, ...r.megas);
  big.pages[i].count = r.megas.length;
  if (i === big.pages.length - 1) big.next = r.cursor ?? null;
}

function loadMore() {
  if (big.loading || !big.next) return;
  const cursor = big.next;
  big.loading = getJson(boardUrl({ cursor }))
    .then((r) => {
      big.pages.push({ cursor, count: r.megas.length });
      big.megas.push(...r.megas);
      big.next = r.cursor ?? null;
      big.total = r.megas_total;
    })
    .finally(() => {
      big.loading = null;
      renderBig();
    })
    .catch(showError);
}

/** A MEGA's phases: a page on opening, the next when its "more" comes into sight. */
function loadPhases(key) {
  const o = big.open.get(key);
  if (!o || o.loading || (o.pages.length && !o.next)) return;
  const cursor = o.pages.length ? o.next : null;
  o.loading = true;
  getJson(boardUrl({ mega: key, ...(cursor ? { cursor } : {}) }))
    .then((r) => {
      o.pages.push({ cursor, count: r.megas[0].phases.length });
      o.phases.push(...r.megas[0].phases);
      o.next = r.cursor ?? null;
    })
    .finally(() => {
      o.loading = false;
      renderBig();
    })
    .catch(showError);
}

async function reloadPhases(key) {
  const o = big.open.get(key);
  const pages = await Promise.all(o.pages.map((p) => getJson(boardUrl({ mega: key, ...(p.cursor ? { cursor: p.cursor } : {}) }))));
  o.phases = pages.flatMap((r) => r.megas[0].phases);
  pages.forEach((r, i) => (o.pages[i].count = r.megas[0].phases.length));
  o.next = pages.at(-1)?.cursor ?? null;
}

function megaRow(m) {
  const o = big.open.get(m.key);
  const owners = (m.owners ?? []).map((w) => `${who(w.instance, w.agent)}${w.phases > 1 ? ` ×${w.phases}` : ''}`).join(', ');
  const toggle = `<button class="toggle" data-toggle="${esc(m.key)}" aria-expanded="${o ? 'true' : 'false'}" title="${o ? 'close' : 'show its phases'}">${o ? '▾' : '▸'}</button>`;
  const phases = !o
    ? ''
    : `${lanes(o.phases, (k) => m[k])}${o.next || !o.pages.length ? `<button class="more" data-more="${esc(m.key)}">${o.phases.length ? `more phases (${o.phases.length} of ${m.total} shown)` : 'loading phases…'}</button>` : ''}`;
  return `<div class="mega mega-row${o ? ' open' : ''}" data-mega="${esc(m.key)}">${megaHead(m, toggle)}
      <div class="counts"><span class="n ready">${m.ready} ready</span> · <span class="n blocked">${m.blocked} blocked</span> · <span class="n claimed">${m.claimed} claimed</span>${owners ? ` by ${owners}` : ''}</div>${phases}</div>`;
}

const rowHeight = (i) => big.heights.get(big.megas[i].key) ?? ROW;

/** The rows in sight (and OVERSCAN beyond), between two spacers that stand for the rest. */
function renderBig() {
  if (!big.active) return;
  const body = $('#megas .body');
  let list = body.querySelector('.vlist');
  if (!list) {
    body.innerHTML = '<p class="board-info"></p><div class="vlist" tabindex="0"><div class="vpad"></div><div class="vrows"></div><div class="vpad"></div></div>';
    list = body.querySelector('.vlist');
    let queued = false;
    list.addEventListener('scroll', () => {
      if (queued) return;
      queued = true;
      window.requestAnimationFrame(() => {
        queued = false;
        renderBig();
      });
    });
  }
  const n = big.megas.length;
  body.querySelector('.board-info').textContent = `${big.total} MEGAs in the order they were planned${n < big.total ? `, ${n} loaded (more as you scroll)` : ''}; open one for its phases.`;
  const top = list.scrollTop;
  const bottom = top + (list.clientHeight || 600);
  let i = 0;
  let y = 0;
  for (; i < n && y + rowHeight(i) < top - OVERSCAN; i++) y += rowHeight(i);
  const first = i;
  const padTop = y;
  const html = [];
  for (; i < n && y < bottom + OVERSCAN; i++) {
    html.push(megaRow(big.megas[i]));
    y += rowHeight(i);
  }
  let rest = (big.total - n) * ROW;
  for (let j = i; j < n; j++) rest += rowHeight(j);
  const [padA, rows, padB] = list.children;
  padA.style.height = `${padTop}px`;
  padB.style.height = `${Math.max(0, rest)}px`;
  rows.innerHTML = html.join('');
  widths();
  rows.querySelectorAll('.mega-row').forEach((el) => big.heights.set(el.dataset.mega, el.getBoundingClientRect().height));
  big.visible = [first, i];
  if (i >= n && y < bottom + OVERSCAN) loadMore();
  const box = list.getBoundingClientRect();
  rows.querySelectorAll('button.more').forEach((b) => {
    const r = b.getBoundingClientRect();
    if (r.top < box.bottom && r.bottom > box.top) loadPhases(b.dataset.more);
  });
}

document.addEventListener('click', (ev) => {
  const t = ev.target.closest('[data-toggle], button.more');
  if (!t) return;
  if (t.dataset.more) return loadPhases(t.dataset.more);
  const key = t.dataset.toggle;
  if (big.open.has(key)) big.open.delete(key);
  else {
    big.open.set(key, { phases: [], pages: [], next: null, loading: false });
    loadPhases(key);
  }
  big.heights.delete(key);
  renderBig();
});

// Widths through the CSSOM: the page's CSP forbids inline style attributes.
function widths() {
  document.querySelectorAll('[data-pct]').forEach((el) => {
    el.style.width = `${Math.min(100, Number(el.dataset.pct))}%`;
  });
}

/** A table that stacks into labelled rows on a narrow screen: `cols` are [label, cell(row) → html]. */
function table(cls, cols, rows, rowAttrs = () => '') {
  return `<table class="stack ${cls}"><tr class="head">${cols.map(([l]) => `<th>${esc(l)}</th>`).join('')}</tr>${rows
    .map(
      (r) => `
    <tr${rowAttrs(r)}>${cols.map(([l, cell]) => `<td data-label="${esc(l)}">${cell(r)}</td>`).join('')}</tr>`,
    )
    .join('')}</table>`;
}

function renderSessions() {
  const ss = state.sessions?.sessions ?? [];
  const over = (s) => s.status === 'ended' || s.status === 'adopted';
  const shown = ss.filter((s) => !over(s)).concat(ss.filter(over).slice(0, 5));
  $('#sessions .body').innerHTML =
    shown.length === 0
      ? '<p class="empty">No sessions yet.</p>'
      : table(
          'sessions',
          [
            ['instance', (s) => esc(s.instance)],
            ['agent', (s) => `${esc(s.agent ?? '')} <span class="tag">${esc(s.transport)}</span>`],
            ['status', (s) => `<span class="tag ${esc(s.status)}">${esc(s.status)}</span>`],
            [
              'claims',
              (s) =>
                `${s.claims.map((c) => `${esc(c.mega)}/${esc(c.id)}`).join(', ')}${s.resume ? `<div class="sub resume"><code>${esc(s.resume)}</code></div>` : s.adopted_by ? `<div class="sub">→ ${esc(s.adopted_by)}</div>` : ''}`,
            ],
            ['last seen', (s) => `<span class="ago" data-at="${esc(s.last_seen_at)}">${ago(s.last_seen_at)}</span>`],
          ],
          shown,
          (s) => ` class="session ${esc(s.status)}"`,
        );
}

function renderGovernance() {
  const g = state.governance;
  const el = $('#governance .body');
  if (!g) {
    el.innerHTML = '';
    return;
  }
  const k = g.kill_switch;
  const u = g.usage;
  const cap = u.daily_cap_usd;
  const usage =
    cap == null
      ? `$${u.today_usd.toFixed(2)} today · no daily cap`
      : `$${u.today_usd.toFixed(2)} of $${cap.toFixed(2)} today${u.cap_reached ? ' — cap reached: no new claims until tomorrow (UTC)' : ''}`;
  el.innerHTML = `<dl class="facts">
    <div class="kill ${k.on ? 'on' : 'off'}"><dt>kill switch</dt><dd><span class="tag ${k.on ? 'fail' : 'pass'}">${k.on ? 'ON' : 'off'}</span> ${k.on ? esc(k.message) : g.kill_switch_variable ? `(GitHub variable ${esc(g.kill_switch_variable)} is read at claims)` : ''}</dd></div>
    <div><dt>autonomy</dt><dd>level ${esc(g.autonomy)} of 5</dd></div>
    <div class="usage"><dt>usage</dt><dd>${esc(usage)}${cap == null ? '' : `<div class="bar${u.cap_reached ? ' over' : ''}"><span data-pct="${Math.round((u.today_usd / cap) * 100)}"></span></div>`}</dd></div>
    <div><dt>acknowledge</dt><dd>${g.ack.possible ? 'a person with the ack token can acknowledge from this page' : `off: ${esc(g.ack.reason)}`}</dd></div>
  </dl>`;
  widths();
}

function renderMemory() {
  const es = state.memory?.entries;
  const el = $('#memory .body');
  if (!es) {
    el.innerHTML = '';
    return;
  }
  if (es.length === 0) {
    el.innerHTML = '<p class="empty">Nothing in memory yet: agents record status, decisions and known issues with the memory tool.</p>';
    return;
  }
  const sections = [
    ['status', 'Status'],
    ['decisions', 'Decisions'],
    ['known_issues', 'Known issues'],
  ];
  el.innerHTML = sections
    .map(([k, label]) => {
      const xs = es.filter((e) => e.section === k);
      return xs.length
        ? `<h4>${label}</h4><ul class="memory ${k}">${xs.map((e) => `<li>${esc(e.text)} <span class="sub">${esc(e.author)} · <span class="ago" data-at="${esc(e.at)}">${ago(e.at)}</span></span></li>`).join('')}</ul>`
        : '';
    })
    .join('');
}

function bars(series, value, label) {
  const vals = series.map(value);
  const max = Math.max(1, ...vals.map((v) => v ?? 0));
  const w = 100 / series.length;
  return `<svg viewBox="0 0 100 60" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">${series
    .map((d, i) => {
      const v = vals[i];
      const h = v == null ? 0 : (v / max) * 56;
      return `<rect x="${i * w + w * 0.15}" y="${60 - h}" width="${w * 0.7}" height="${h}"><title>${esc(d.day)}: ${v == null ? 'none' : Math.round(v * 100) / 100}</title></rect>`;
    })
    .join('')}</svg>`;
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

function renderReport() {
  const r = state.report;
  const el = $('#report .body');
  if (!r) {
    el.innerHTML = '';
    return;
  }
  const period = `${r.since.slice(0, 10)} – ${new Date(Date.parse(r.until) - 1).toISOString().slice(0, 10)}`;
  if (r.empty) {
    el.innerHTML = `<p class="period">${esc(period)}</p><p class="empty">${esc(r.message)}</p>`;
    return;
  }
  const rows = r.cycles.length > 1 ? [...r.cycles, r.total] : r.cycles;
  el.innerHTML = `<p class="period">${esc(period)}</p>
    <figure class="chart points"><figcaption>story points completed per day</figcaption>${bars(r.days, (d) => d.points, 'story points completed per day')}
      <div class="axis"><span>${esc(r.days[0]?.day.slice(5))}</span><span>${esc(r.days.at(-1)?.day.slice(5))}</span></div></figure>
    ${table(
      'report',
      [
        ['cycle', (c) => esc(c.cycle)],
        ['duration', (c) => esc(c.duration)],
        ['points', (c) => esc(c.points)],
        ['velocity (pts/day)', (c) => esc(c.velocity)],
        ['issues closed (phases / tickets)', (c) => `${esc(c.phases_closed)} / ${esc(c.tickets_closed)}`],
        ['PRs merged', (c) => esc(c.prs_merged)],
        ['components touched', (c) => esc(c.components.join(', ') || '–')],
        ['regressions on main', (c) => esc(c.regressions)],
      ],
      rows,
      (c) => (c.cycle === 'total' ? ' class="total"' : ''),
    )}`;
}

function renderExtras() {
  const body = $('#extras .body');
  const ack = state.governance?.ack;
  const note = ack && !ack.possible ? `<p class="ack-off">Acknowledge is off on this server: ${esc(ack.reason)}</p>` : '';
  const html = EXTRAS.map((x) => (state.extras[x.key] ? x.render(state.extras[x.key]) : '')).join('');
  body.innerHTML = html ? note + html : '<p class="empty">No council reviews, change classifications or DoD runs yet.</p>';
  // Council reports are agents' free text: built as nodes, each piece through textContent.
  body.querySelectorAll('[data-report]').forEach((el) => {
    const c = (state.extras.councils?.councils ?? []).find((x) => String(x.id) === el.dataset.report);
    el.replaceChildren(markdown(c?.report_markdown ?? ''));
  });
}

function renderOperations() {
  const ops = state.operations?.operations ?? [];
  $('#operations .body').innerHTML =
    ops.length === 0
      ? '<p class="empty">Nothing logged yet.</p>'
      : `<table class="ops">${ops
          .slice()
          .reverse()
          .map(
            (o) => `
    <tr><td>${time(new Date(o.ts).toISOString())}</td><td>#${o.seq}</td><td><span class="tag">${esc(o.kind)}</span></td><td>${esc(o.message)}</td></tr>`,
          )
          .join('')}</table>`;
}

/** The acknowledge button where a person can act; disabled, saying why, where no one can through this server. */
function ackButton(kind, ref, acked) {
  if (acked) return `<span class="tag pass">acknowledged</span>`;
  const ack = state.governance?.ack ?? { possible: true };
  if (!ack.possible) return `<button disabled data-ack-kind="${esc(kind)}" data-ack-ref="${esc(ref)}" title="${esc(ack.reason)}">acknowledge</button>`;
  return `<button data-ack-kind="${esc(kind)}" data-ack-ref="${esc(ref)}">acknowledge…</button>`;
}

function renderCouncils(d) {
  const cs = d.councils ?? [];
  if (cs.length === 0) return '';
  return `<h2>Council verdicts</h2>${table(
    'councils',
    [
      ['subject', (c) => `${esc(c.title)}${c.mega ? ` <span class="tag">${esc(c.mega)}/${esc(c.phase ?? '')}</span>` : ''}`],
      [
        'verdict',
        (c) =>
          `<span class="tag ${esc(c.verdict)}">${esc(c.verdict)}</span>${c.self_reviewed ? ' <span class="tag self" title="every review was written by the agent that asked for the council">self-reviewed</span>' : ''} ${c.verdict === 'reject' ? ackButton('council', c.id, c.acknowledged) : ''}`,
      ],
      ['average', (c) => (c.average == null ? '' : Number(c.average).toFixed(2))],
      ['report', (c) => `<details><summary>report</summary><div class="md" data-report="${esc(c.id)}"></div></details>`],
    ],
    cs,
  )}`;
}

function renderChanges(d) {
  const cs = d.changes ?? [];
  if (cs.length === 0) return '';
  return `<h2>Ship / Show / Ask</h2>${table(
    'changes',
    [
      ['when', (c) => `<span class="ago" data-at="${esc(c.created_at)}">${ago(c.created_at)}</span>`],
      ['phase', (c) => `${esc(c.mega ?? '')}/${esc(c.phase ?? '')}`],
      ['level', (c) => `<span class="tag ${esc(c.level)}">${esc(c.level)}</span> ${c.level === 'ask' ? ackButton('change', c.id, c.acknowledged) : ''}`],
      [
        'reasons',
        (c) =>
          (c.reasons ?? [])
            .slice(0, 3)
            .map((r) => esc(r.rule))
            .join(', '),
      ],
    ],
    cs,
  )}`;
}

function renderDod(d) {
  const runs = d.runs ?? [];
  if (runs.length === 0) return '';
  const mark = { pass: '✔', fail: '✘', skip: '–', error: '!' };
  const bad = (r) => (r.checks ?? []).filter((c) => c.status === 'fail' || c.status === 'error');
  return `<h2>Definition of Done</h2>${table(
    'dod',
    [
      ['phase', (r) => `${esc(r.mega ?? '')}/${esc(r.phase ?? '')}`],
      ['score', (r) => `<span class="tag ${r.passed ? 'pass' : 'fail'}">${esc(r.score)}</span>`],
      [
        'checks',
        (r) =>
          `${(r.checks ?? []).map((c) => `<span class="tag ${esc(c.status)}">${mark[c.status] ?? '?'} ${esc(c.id)}</span>`).join(' ')}${
            bad(r).length
              ? `<ul class="failures">${bad(r)
                  .map((c) => `<li><span class="check">${esc(c.id)}</span> ${esc(c.detail)}</li>`)
                  .join('')}</ul>`
              : ''
          }`,
      ],
    ],
    runs,
  )}`;
}

// ------------------------------------------------------------------ Markdown as DOM nodes

/** A council report's Markdown (headings, paragraphs, lists, quotes, tables, **bold**, _em_, `code`) as nodes; text only ever through textContent. */
function markdown(text) {
  const out = document.createDocumentFragment();
  const lines = String(text).split(/\r?\n/);
  const node = (tag, cls) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    return n;
  };
  const special = (l) => /^(#{1,6}\s|\s*[-*]\s|>|\|)/.test(l);
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    let m;
    if (!line.trim()) {
      i++;
      continue;
    }
    if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
      out.append(inline(node(`h${Math.min(6, m[1].length + 2)}`), m[2]));
      i++;
    } else if (line.startsWith('|')) {
      const t = node('table');
      for (let head = true; i < lines.length && lines[i].startsWith('|'); i++) {
        const cells = lines[i]
          .trim()
          .replace(/^\||\|$/g, '')
          .split(/(?<!\\)\|/)
          .map((c) => c.trim().replace(/\\\|/g, '|'));
        if (cells.every((c) => /^:?-{2,}:?$/.test(c))) continue;
        const tr = node('tr');
        for (const c of cells) tr.append(inline(node(head ? 'th' : 'td'), c));
        t.append(tr);
        head = false;
      }
      out.append(t);
    } else if (/^\s*[-*]\s/.test(line)) {
      const ul = node('ul');
      for (; i < lines.length && /^\s*[-*]\s/.test(lines[i]); i++) {
        const item = lines[i]
          .replace(/^\s*[-*]\s+/, '')
          .replace(/^\[ \]\s*/, '☐ ')
          .replace(/^\[x\]\s*/i, '☑ ');
        ul.append(inline(node('li'), item));
      }
      out.append(ul);
    } else if (line.startsWith('>')) {
      const q = node('blockquote');
      const xs = [];
      for (; i < lines.length && lines[i].startsWith('>'); i++) xs.push(lines[i].replace(/^>\s?/, ''));
      out.append(inline(q, xs.join(' ')));
    } else {
      const xs = [];
      for (; i < lines.length && lines[i].trim() && !special(lines[i]); i++) xs.push(lines[i]);
      out.append(inline(node('p'), xs.join(' ')));
    }
  }
  return out;
}

/** `**bold**`, `_em_` and `` `code` `` inside a line; everything else as text nodes. */
function inline(parent, text) {
  for (const part of String(text).split(/(\*\*[^*]+\*\*|`[^`]+`|\b_[^_]+_\b)/)) {
    if (!part) continue;
    let n;
    if (part.startsWith('**') && part.endsWith('**') && part.length > 4) n = Object.assign(document.createElement('strong'), { textContent: part.slice(2, -2) });
    else if (part.startsWith('`') && part.endsWith('`') && part.length > 2) n = Object.assign(document.createElement('code'), { textContent: part.slice(1, -1) });
    else if (/^_[^_]+_$/.test(part)) n = Object.assign(document.createElement('em'), { textContent: part.slice(1, -1) });
    else n = document.createTextNode(part);
    parent.append(n);
  }
  return parent;
}

// The human gate: acknowledging an Ask change or a rejected council needs the server's token.
document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-ack-kind]');
  if (!b) return;
  const token = window.prompt('Token to acknowledge (FACTORY_ACK_TOKEN, else FACTORY_HTTP_TOKEN):');
  if (!token) return;
  const r = await fetch('/api/ack', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ kind: b.dataset.ackKind, ref: b.dataset.ackRef }),
  });
  if (!r.ok) window.alert(`Not acknowledged: ${(await r.json()).error ?? r.status}`);
});

// Lease countdowns and "ago" times tick locally between updates.
setInterval(() => {
  document.querySelectorAll('.lease').forEach((el) => {
    el.textContent = leaseLeft(el.dataset.exp);
  });
  document.querySelectorAll('.ago').forEach((el) => {
    el.textContent = ago(el.dataset.at);
  });
}, 1000);

let pending = null;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refresh().catch(showError);
  }, 50);
}
function showError(e) {
  $('#live').textContent = `error: ${e.message}`;
  $('#live').className = 'live off';
}

const events = new EventSource('/events');
events.addEventListener('hello', () => {
  $('#live').textContent = 'live';
  $('#live').className = 'live on';
  scheduleRefresh();
});
events.addEventListener('change', scheduleRefresh);
events.onerror = () => {
  $('#live').textContent = 'reconnecting…';
  $('#live').className = 'live off';
};
refresh().catch(showError);
