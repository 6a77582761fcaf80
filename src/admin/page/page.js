// The admin page: polls /v1/status once a second and draws it. Plain browser JavaScript, no build
// step; uPlot (the global from /uplot.js) draws the charts. Everything it asks is on this origin.
'use strict';

(() => {
  const POLL_MS = 1000;
  /** Points kept per chart: two minutes at one a second. */
  const WINDOW = 120;
  const PALETTE = ['#58a6ff', '#3fb950', '#d29922', '#db61a2', '#a371f7', '#39c5cf', '#f0883e', '#8b949e', '#ff7b72', '#7ee787', '#e3b341', '#79c0ff'];

  const $ = (id) => document.getElementById(id);
  const el = (tag, props, ...children) => {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };
  const svg = (tag, attrs) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const fmt = (n, digits = 1) => (n === null || n === undefined || Number.isNaN(n) ? '–' : n >= 100 ? Math.round(n).toLocaleString() : n.toFixed(digits));

  /** Colors by pod name, kept while the pod stays. */
  const colors = new Map();
  const colorOf = (name) => {
    if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
    return colors.get(name);
  };

  let previous = null;
  let paths = [];
  let keyed = false;
  let assignmentsFor = null;

  // ---- charts -------------------------------------------------------------------------------
  const charts = { names: [], times: [], series: { rps: [], inflight: [], latency: [] }, plots: {} };

  function buildCharts(names) {
    for (const p of Object.values(charts.plots)) p.destroy();
    charts.names = names;
    charts.times = [];
    charts.series = { rps: names.map(() => []), inflight: names.map(() => []), latency: names.map(() => []) };
    for (const [key, id] of [['rps', 'chart-rps'], ['inflight', 'chart-inflight'], ['latency', 'chart-latency']]) {
      const host = $(id);
      host.replaceChildren();
      const width = Math.max(240, host.clientWidth || 300);
      const opts = {
        width,
        height: 180,
        legend: { show: true, live: false },
        cursor: { show: true, points: { show: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [
          { stroke: '#7d8a9c', grid: { stroke: '#263040' }, ticks: { stroke: '#263040' } },
          { stroke: '#7d8a9c', grid: { stroke: '#263040' }, ticks: { stroke: '#263040' }, size: 50 },
        ],
        series: [{}, ...names.map((n) => ({ label: n, stroke: colorOf(n), width: 2, spanGaps: false }))],
      };
      charts.plots[key] = new uPlot(opts, [[], ...names.map(() => [])], host);
    }
  }

  function pushCharts(t, rows) {
    const same = rows.length === charts.names.length && rows.every((r, i) => r.name === charts.names[i]);
    if (!same) buildCharts(rows.map((r) => r.name));
    charts.times.push(t);
    rows.forEach((r, i) => {
      charts.series.rps[i].push(r.rps);
      charts.series.inflight[i].push(r.inflight);
      charts.series.latency[i].push(r.latency);
    });
    if (charts.times.length > WINDOW) {
      charts.times.shift();
      for (const s of Object.values(charts.series)) for (const arr of s) arr.shift();
    }
    for (const key of ['rps', 'inflight', 'latency']) charts.plots[key].setData([charts.times, ...charts.series[key]]);
  }

  window.addEventListener('resize', () => {
    for (const [key, id] of [['rps', 'chart-rps'], ['inflight', 'chart-inflight'], ['latency', 'chart-latency']]) {
      const p = charts.plots[key];
      if (p) p.setSize({ width: Math.max(240, $(id).clientWidth), height: 180 });
    }
  });

  // ---- status -------------------------------------------------------------------------------
  function rowsOf(status) {
    const prev = previous;
    const dt = prev === null ? 0 : (status.uptimeMs - prev.uptimeMs) / 1000;
    const before = new Map(prev === null ? [] : prev.endpoints.map((e) => [e.name, e]));
    return status.endpoints.map((e) => {
      const b = before.get(e.name);
      const ok = b !== undefined && dt > 0;
      const dSamples = ok ? e.samples - b.samples : 0;
      return {
        name: e.name,
        e,
        rps: ok ? Math.max(0, (e.requests - b.requests) / dt) : null,
        eps: ok ? Math.max(0, (e.failures - b.failures) / dt) : null,
        inflight: e.inflight,
        // The mean of what ended since the last poll; nothing ended, no point (a gap in the chart).
        latency: dSamples > 0 ? (e.latencySumMs - b.latencySumMs) / dSamples : null,
      };
    });
  }

  function renderSummary(s, rows) {
    const total = rows.reduce((a, r) => a + (r.rps ?? 0), 0);
    const item = (label, value) => el('span', null, `${label} `, el('b', null, value));
    const up = s.uptimeMs / 1000;
    const uptime = up >= 3600 ? `${Math.floor(up / 3600)}h ${Math.floor((up % 3600) / 60)}m` : up >= 60 ? `${Math.floor(up / 60)}m ${Math.floor(up % 60)}s` : `${Math.floor(up)}s`;
    const algo = s.balancer.algorithm + (s.balancer.boundedLoad === null ? '' : ` (bounded loads c = ${s.balancer.boundedLoad})`);
    $('summary').replaceChildren(
      item('balancer', algo),
      item('key', s.key.source ?? 'none'),
      item('set', `v${s.set.version ?? '–'}${s.set.generation === null ? '' : ` · gen ${s.set.generation}`}`),
      item('in rotation', `${s.set.inRotation} / ${s.set.endpoints}`),
      item('req/s', fmt(total)),
      item('in flight', String(s.totals.inflight)),
      item('queued', String(s.queued)),
      item('threads', String(s.threads)),
      item('up', uptime),
    );
  }

  function renderEndpoints(rows) {
    const body = $('endpoints').tBodies[0];
    body.replaceChildren(
      ...rows.map((r) => {
        const e = r.e;
        const state = el('span', { class: `state ${e.state}` }, e.state === 'failing-checks' ? 'failing checks' : e.state);
        const stateCell = el('td', { class: 'state-cell' }, state);
        if (e.ejection !== null) {
          const left = Math.max(0, Math.round((e.ejection.untilMs - Date.now()) / 1000));
          const until = new Date(e.ejection.untilMs).toLocaleTimeString();
          stateCell.append(el('span', { class: 'until' }, `until ${until} (${left}s${e.ejection.reason ? `, ${e.ejection.reason}` : ''}${e.ejection.threads > 1 ? `, ${e.ejection.threads} threads` : ''})`));
        }
        const limit = e.bound ?? e.maxInflight;
        const cap = e.maxInflight !== null && e.bound !== null ? Math.min(e.maxInflight, e.bound) : limit;
        const bar = el('span', { class: 'bar' });
        const fill = el('i', cap !== null && e.inflight >= cap ? { class: 'hot' } : null);
        fill.style.width = `${cap === null ? Math.min(100, e.inflight) : Math.min(100, (100 * e.inflight) / Math.max(1, cap))}%`;
        bar.append(fill);
        const limits = [e.bound === null ? null : `bound ${e.bound}`, e.maxInflight === null ? null : `max ${e.maxInflight}`].filter((x) => x !== null).join(', ');
        const swatch = el('span', { class: 'swatch' });
        swatch.style.background = colorOf(r.name);
        return el(
          'tr',
          { data: { endpoint: r.name, state: e.state } },
          el('td', null, swatch),
          el('td', null, r.name, el('span', { class: 'addr' }, e.address)),
          el('td', null, e.zone ?? '–'),
          stateCell,
          el('td', { class: 'num rps' }, fmt(r.rps)),
          el('td', { class: 'inflight' }, bar, `${e.inflight}${limits === '' ? '' : ` / ${limits}`}`),
          el('td', { class: 'num latency' }, r.latency === null ? '–' : `${fmt(r.latency)} ms`),
          el('td', { class: 'num' }, fmt(r.eps)),
          el('td', { class: 'num requests' }, e.requests.toLocaleString()),
        );
      }),
    );
  }

  async function poll() {
    try {
      const res = await fetch('/v1/status', { cache: 'no-store' });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const s = await res.json();
      paths = s.paths ?? [];
      keyed = s.balancer.keyless !== null;
      const rows = rowsOf(s);
      renderSummary(s, rows);
      renderEndpoints(rows);
      if (previous !== null) pushCharts(s.atMs / 1000, rows);
      previous = s;
      const live = $('live');
      live.dataset.state = 'ok';
      live.textContent = `live · ${new Date(s.atMs).toLocaleTimeString()}`;
      const setId = `${s.set.version}/${s.set.generation}`;
      if (setId !== assignmentsFor) {
        assignmentsFor = setId;
        void loadKeyspace();
      }
    } catch (e) {
      const live = $('live');
      live.dataset.state = 'error';
      live.textContent = `not answering: ${e.message}`;
    }
  }

  // ---- key space ----------------------------------------------------------------------------
  async function loadKeyspace() {
    const host = $('keyspace');
    if (!paths.includes('/v1/assignments')) {
      host.replaceChildren(el('p', { class: 'muted' }, 'no directory on this admin listener'));
      return;
    }
    if (!keyed) {
      host.replaceChildren(el('p', { class: 'muted' }, 'this balancer routes without keys: no key space to show'));
      return;
    }
    const res = await fetch('/v1/assignments', { cache: 'no-store' });
    if (!res.ok) {
      host.replaceChildren(el('p', { class: 'muted' }, `assignments: ${res.status}`));
      return;
    }
    const a = await res.json();
    // Ring hash: the ring itself, arc by arc, around the shares.
    let arcs = null;
    if (a.algorithm === 'ring-hash' && paths.includes('/v1/status/ring')) {
      const r = await fetch('/v1/status/ring', { cache: 'no-store' });
      if (r.ok) arcs = await r.json();
    }
    drawKeyspace(a, arcs);
  }

  /** An arc of a circle around (c, c) of radius r, from turn t0 to t1 (fractions of a turn, 0 at the top). */
  function arcPath(c, r, t0, t1) {
    const a0 = -Math.PI / 2 + t0 * 2 * Math.PI;
    const a1 = -Math.PI / 2 + Math.min(t1, t0 + 0.999999) * 2 * Math.PI;
    return `M ${c + r * Math.cos(a0)} ${c + r * Math.sin(a0)} A ${r} ${r} 0 ${a1 - a0 > Math.PI ? 1 : 0} 1 ${c + r * Math.cos(a1)} ${c + r * Math.sin(a1)}`;
  }

  function drawKeyspace(a, arcs) {
    const host = $('keyspace');
    const members = a.members.filter((m) => m.share > 0 || !m.draining);
    const size = 200;
    const r = 62;
    const c = size / 2;
    const ring = svg('svg', { width: size, height: size, viewBox: `0 0 ${size} ${size}`, role: 'img', 'aria-label': 'key space by owner' });
    let turn = 0;
    for (const m of members) {
      if (m.share <= 0) continue;
      const path = svg('path', { d: arcPath(c, r, turn, turn + m.share), fill: 'none', stroke: colorOf(m.endpoint), 'stroke-width': 24, 'data-segment': m.endpoint });
      const title = svg('title', {});
      title.textContent = `${m.endpoint}: ${(m.share * 100).toFixed(1)}% of the keys`;
      path.append(title);
      ring.append(path);
      turn += m.share;
    }
    if (arcs !== null) {
      // The ring as picks walk it: where each pod's arcs lie, clockwise from hash 0 at the top.
      const outer = svg('g', { 'data-ring': String(arcs.arcs.length) });
      arcs.arcs.forEach(([start, home], i) => {
        const end = i + 1 < arcs.arcs.length ? arcs.arcs[i + 1][0] : 1;
        if (home < 0 || end <= start) return;
        outer.append(svg('path', { d: arcPath(c, 88, start, end), fill: 'none', stroke: colorOf(arcs.endpoints[home]), 'stroke-width': 12, 'data-arc': arcs.endpoints[home] }));
      });
      ring.append(outer);
    }
    const label = svg('text', { x: c, y: c + 4, 'text-anchor': 'middle', fill: '#7d8a9c', 'font-size': 12 });
    label.textContent = a.algorithm;
    ring.append(label);
    const band = el('div', { class: 'band' });
    const legend = el('div', { class: 'legend' });
    for (const m of members) {
      const seg = el('div', { data: { band: m.endpoint }, title: `${m.endpoint}: ${(m.share * 100).toFixed(1)}%` });
      seg.style.flexGrow = String(m.share);
      seg.style.background = colorOf(m.endpoint);
      band.append(seg);
      const sw = el('span', { class: 'swatch' });
      sw.style.background = colorOf(m.endpoint);
      legend.append(sw, el('span', null, m.endpoint + (m.draining ? ' (draining)' : '')), el('span', { class: 'num' }, `${(m.share * 100).toFixed(1)}%`));
    }
    const caption = arcs === null ? 'share of the key space each pod is home to' : 'inside: each pod\'s share of the keys; outside: the ring itself, arc by arc';
    host.replaceChildren(ring, band, legend, el('p', { class: 'muted' }, `generation ${a.generation} · ${members.length} owners · ${caption}`));
  }

  // ---- owner lookup -------------------------------------------------------------------------
  $('owner-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void lookup($('owner-key').value);
  });

  async function lookup(key) {
    const out = $('owner-result');
    if (!paths.includes('/v1/owner')) {
      out.replaceChildren('no directory on this admin listener');
      return;
    }
    if (key === '') return;
    const res = await fetch(`/v1/owner?key=${encodeURIComponent(key)}&n=5`, { cache: 'no-store' });
    const a = await res.json();
    if (a.error !== undefined) {
      out.replaceChildren(el('span', { class: 'muted' }, a.error));
      return;
    }
    const owner = el('div', { class: 'owner', data: { owner: a.endpoint ?? '' } });
    if (a.endpoint !== null) {
      const sw = el('span', { class: 'swatch' });
      sw.style.background = colorOf(a.endpoint);
      owner.append(sw, ` ${a.endpoint}`, el('span', { class: 'addr' }, a.address ?? ''));
    } else owner.append(`no owner (${a.reason})`);
    // The directory answers the key's home; the proxy walks on past pods out of rotation now.
    const states = new Map(previous === null ? [] : previous.endpoints.map((e) => [e.name, e.state]));
    const stateOf = (name) => states.get(name) ?? 'ready';
    const pref = el('ol', { class: 'pref' }, ...a.preference.map((p) => el('li', { data: { preference: p } }, p, stateOf(p) === 'ready' ? '' : el('span', { class: `state ${stateOf(p)}` }, stateOf(p)))));
    const parts = [el('div', { class: 'muted' }, `key ${JSON.stringify(a.key)} →`), owner];
    const routed = a.preference.find((p) => stateOf(p) === 'ready');
    if (a.endpoint !== null && stateOf(a.endpoint) !== 'ready') parts.push(el('div', { class: 'muted', data: { routed: routed ?? '' } }, `its home is ${stateOf(a.endpoint)} now: requests go to ${routed ?? 'no pod'}`));
    out.replaceChildren(...parts, el('div', { class: 'muted' }, 'preference order (where it goes when the owner is full or out):'), pref);
  }

  // ---- hot keys -----------------------------------------------------------------------------
  async function loadHotKeys() {
    const host = $('hotkeys');
    if (!paths.includes('/v1/hot-keys')) {
      host.replaceChildren('hot keys: not available');
      return;
    }
    try {
      const res = await fetch('/v1/hot-keys', { cache: 'no-store' });
      if (res.status === 404) {
        host.replaceChildren('hot keys: not available');
        return;
      }
      const h = await res.json();
      if (h.keys.length === 0) {
        host.replaceChildren(`no keyed traffic in the last ${h.windowS}s`);
        return;
      }
      const table = el('table', { class: 'hot' }, el('thead', null, el('tr', null, el('th', null, 'key'), el('th', { class: 'num' }, 'req/s'), el('th', { class: 'num' }, 'share'), el('th', null, 'pod'))));
      const body = el('tbody');
      for (const k of h.keys) {
        const sw = el('span', { class: 'swatch' });
        if (k.endpoint !== null) sw.style.background = colorOf(k.endpoint);
        body.append(el('tr', { data: { hotKey: k.key } }, el('td', null, k.key), el('td', { class: 'num' }, fmt(k.rate)), el('td', { class: 'num' }, `${(k.share * 100).toFixed(1)}%`), el('td', null, sw, ` ${k.endpoint ?? '–'}`)));
      }
      table.append(body);
      host.replaceChildren(table);
    } catch (e) {
      host.replaceChildren(`hot keys: ${e.message}`);
    }
  }

  void poll();
  setInterval(() => void poll(), POLL_MS);
  setInterval(() => void loadHotKeys(), 2 * POLL_MS);
  setTimeout(() => void loadHotKeys(), 300);
})();
