// lowpanbr's page of the mesh: reads /api/events (Server-Sent Events,
// one snapshot a second) and draws the graph, tables and charts. Plain
// JavaScript, no library, no build step (see web/doc.go for why).
'use strict';

const SVGNS = 'http://www.w3.org/2000/svg';
const W = 1000, H = 640, PAD = 40, HISTORY = 300;
const $ = (id) => document.getElementById(id);

// The controls' token: handed out in the URL's fragment by `lowpanbr
// web` (a fragment is never sent to a server), kept for the tab's life
// only, and removed from the address bar so it is not bookmarked or
// shown over a shoulder.
let token = null;
(function takeToken() {
  const m = /(?:^#|&)token=([0-9a-f]{16,128})/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('lowpanbr-token', m[1]);
    history.replaceState(null, '', location.pathname + location.search);
  }
  token = sessionStorage.getItem('lowpanbr-token');
})();

const state = {
  snap: null,
  samples: [],
  nodeEls: new Map(), // id -> <g>
  linkEls: new Map(), // "a|b" -> <line>
  selected: null, // {node: id} or {link: key}
  updates: 0,
  html: {}, // last innerHTML per element id: skip identical rewrites
};
// For the browser test and for measuring: how many snapshots were drawn.
window.lowpanbr = state;

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function setHTML(id, html) {
  if (state.html[id] === html) return;
  state.html[id] = html;
  const el = $(id);
  if (el.tagName === 'TABLE') el.tBodies[0].innerHTML = html; else el.innerHTML = html;
}

function dur(sec) {
  if (sec == null) return '';
  sec = Math.max(0, Math.round(sec));
  const d = Math.floor(sec / 86400), h = Math.floor(sec / 3600) % 24, m = Math.floor(sec / 60) % 60, s = sec % 60;
  return (d ? d + 'd' : '') + (d || h ? h + 'h' : '') + (d || h || m ? m + 'm' : '') + s + 's';
}

function num(x) {
  if (x >= 1e6) return (x / 1e6).toFixed(1) + 'M';
  if (x >= 1e4) return (x / 1e3).toFixed(0) + 'k';
  if (x >= 100 || Number.isInteger(x)) return String(Math.round(x));
  return x.toFixed(1);
}

// --- the live stream -------------------------------------------------

function connect() {
  const es = new EventSource('api/events');
  es.addEventListener('snapshot', (e) => update(JSON.parse(e.data)));
  es.onopen = () => setConn(true);
  // EventSource reconnects by itself (the server asks for 2 s).
  es.onerror = () => setConn(false);
}

function setConn(on) {
  const c = $('conn');
  c.className = 'conn ' + (on ? 'on' : 'off');
  c.textContent = on ? 'live' : 'reconnecting';
}

function update(s) {
  // A part left out is as in the snapshot before.
  for (const part of s.unchanged || []) s[part] = state.snap ? state.snap[part] : [];
  let nodesChanged = !(s.unchanged || []).includes('nodes');
  if (s.node_updates && s.node_updates.length) {
    const upd = new Map(s.node_updates.map((n) => [n.id, n]));
    s.nodes = s.nodes.map((n) => upd.get(n.id) || n);
    nodesChanged = true;
  }
  if (!(s.unchanged || []).includes('registrations')) state.regsTime = Date.parse(s.time);
  s.regsAge = (Date.parse(s.time) - state.regsTime) / 1000;
  state.snap = s;
  for (const x of s.samples || []) {
    const last = state.samples[state.samples.length - 1];
    if (!last || x.t > last.t) state.samples.push(x);
  }
  if (state.samples.length > HISTORY) state.samples.splice(0, state.samples.length - HISTORY);
  // The controls act on the simulator: none on real radios.
  document.body.classList.toggle('controls', !!(s.controls && token && s.simulated));
  $('br-address').textContent = s.address;
  $('prefix').textContent = s.prefix;
  $('version').textContent = s.version;
  $('uptime').textContent = 'up ' + dur(s.uptime_seconds);
  const same = (part) => (part === 'nodes' ? !nodesChanged : (s.unchanged || []).includes(part));
  if (!(same('nodes') && same('links'))) drawGraph(s);
  drawRCP(s.rcp);
  drawRegistrations(s.registrations || [], s.regsAge || 0);
  if (!same('nodes')) drawNodes(s.nodes || []);
  if (!same('events')) drawEvents(s.events || []);
  drawCharts();
  drawDetails();
  state.updates++;
  if (state.updates === 1) performance.mark('lowpanbr-graph-drawn');
}

// --- the graph -------------------------------------------------------

// place lays the nodes out: the simulator's positions when nodes have
// them (radio ranges from the border router), else rings by hop count.
// Nodes without a position in a placed mesh go on a ring outside it.
function place(nodes) {
  const pos = new Map();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const hops = (n) => {
    if (n.id === 'br') return 0;
    if (n.hops > 0) return n.hops;
    let h = 1, p = n.parent, seen = 0;
    while (p && p !== 'br' && byId.has(p) && seen++ < 64) { h++; p = byId.get(p).parent; }
    return h;
  };
  let maxR = 0;
  for (const n of nodes) {
    if (n.x != null && n.y != null) { pos.set(n.id, [n.x, n.y]); maxR = Math.max(maxR, Math.hypot(n.x, n.y)); }
  }
  if (!pos.has('br')) pos.set('br', [0, 0]);
  const rings = new Map();
  for (const n of nodes) {
    if (pos.has(n.id)) continue;
    const h = hops(n) + (maxR > 0 ? Math.ceil(maxR) : 0);
    if (!rings.has(h)) rings.set(h, []);
    rings.get(h).push(n.id);
  }
  for (const [h, ids] of rings) {
    ids.forEach((id, i) => {
      const a = (2 * Math.PI * i) / ids.length + h * 0.4;
      pos.set(id, [h * Math.cos(a), h * Math.sin(a)]);
    });
  }
  // Fit into the view box, keeping the aspect ratio.
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of pos.values()) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  const k = Math.min((W - 2 * PAD) / Math.max(x1 - x0, 1e-9), (H - 2 * PAD) / Math.max(y1 - y0, 1e-9));
  const ox = (W - k * (x1 - x0)) / 2, oy = (H - k * (y1 - y0)) / 2;
  for (const [id, [x, y]] of pos) pos.set(id, [ox + k * (x - x0), oy + k * (y - y0)]);
  return pos;
}

function shape(kind, r) {
  switch (kind) {
    case '6lbr': return `M${-r * 1.4},${-r * 1.4}h${r * 2.8}v${r * 2.8}h${-r * 2.8}z`;
    case 'ble': return `M0,${-r * 1.3}L${r * 1.3},0L0,${r * 1.3}L${-r * 1.3},0z`;
    case 'rul': r *= 0.75; // fall through
    default: return `M${-r},0a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`;
  }
}

// attr sets an attribute only when its value changes: a churning mesh of
// 300 nodes redraws every second, and most of it stays put.
function attr(el, name, v) {
  const c = el.cache || (el.cache = {});
  if (c[name] !== v) { c[name] = v; el.setAttribute(name, v); }
}

function text(el, v) {
  if (el.textContent !== v) el.textContent = v;
}

function linkKey(a, b) { return a < b ? a + '|' + b : b + '|' + a; }

function drawGraph(s) {
  const nodes = s.nodes || [];
  const pos = place(nodes);
  const r = nodes.length > 150 ? 5 : nodes.length > 50 ? 7 : 10;
  const labels = nodes.length <= 60;
  const parentOf = new Map(nodes.map((n) => [n.id, n.parent]));
  $('node-count').textContent = `${nodes.length - 1} nodes, ${(s.links || []).length} links`;

  // Links: the simulator's, else the parent edges.
  const links = (s.links && s.links.length) ? s.links
    : nodes.filter((n) => n.parent && pos.has(n.parent)).map((n) => ({ a: n.id, b: n.parent, kind: n.kind === 'ble' ? 'ble' : '802.15.4', derived: true }));
  const seen = new Set();
  const gl = $('g-links');
  for (const l of links) {
    const pa = pos.get(l.a), pb = pos.get(l.b);
    if (!pa || !pb) continue;
    const key = linkKey(l.a, l.b);
    seen.add(key);
    let el = state.linkEls.get(key);
    if (!el) {
      el = document.createElementNS(SVGNS, 'line');
      el.dataset.link = key;
      el.appendChild(document.createElementNS(SVGNS, 'title'));
      el.addEventListener('click', () => select({ link: key }));
      gl.appendChild(el);
      state.linkEls.set(key, el);
    }
    attr(el, 'x1', pa[0].toFixed(1)); attr(el, 'y1', pa[1].toFixed(1));
    attr(el, 'x2', pb[0].toFixed(1)); attr(el, 'y2', pb[1].toFixed(1));
    const route = parentOf.get(l.a) === l.b || parentOf.get(l.b) === l.a;
    let cls = 'link';
    if (l.cut) cls += ' cut'; else if (route) cls += ' parent';
    if (l.kind === 'ble') cls += ' ble';
    if (state.selected && state.selected.link === key) cls += ' sel';
    attr(el, 'class', cls);
    attr(el, 'data-cut', l.cut ? '1' : '0');
    text(el.firstChild, l.derived ? `${l.a} → ${l.b} (route)`
      : `${l.a} — ${l.b}: RSSI ${l.rssi_dbm} dBm, LQI ${l.lqi}, loss ${Math.round(l.loss * 100)}%${l.cut ? ', cut' : ''}`);
    el.link = l;
  }
  for (const [key, el] of state.linkEls) if (!seen.has(key)) { el.remove(); state.linkEls.delete(key); }

  const gn = $('g-nodes');
  const ids = new Set();
  for (const n of nodes) {
    const p = pos.get(n.id);
    ids.add(n.id);
    let el = state.nodeEls.get(n.id);
    if (!el) {
      el = document.createElementNS(SVGNS, 'g');
      el.dataset.id = n.id;
      el.appendChild(document.createElementNS(SVGNS, 'path'));
      el.appendChild(document.createElementNS(SVGNS, 'title'));
      el.addEventListener('click', () => select({ node: n.id }));
      gn.appendChild(el);
      state.nodeEls.set(n.id, el);
    }
    attr(el, 'transform', `translate(${p[0].toFixed(1)},${p[1].toFixed(1)})`);
    attr(el, 'class', `node k-${n.kind} st-${n.status}` + (state.selected && state.selected.node === n.id ? ' sel' : ''));
    attr(el, 'data-status', n.status);
    attr(el.firstChild, 'd', shape(n.kind, r));
    text(el.childNodes[1], `${n.id} (${n.kind}) ${n.status}${n.address ? '\n' + n.address : ''}`);
    let t = el.querySelector('text');
    if (labels && !t) {
      t = document.createElementNS(SVGNS, 'text');
      t.setAttribute('x', r + 3); t.setAttribute('y', 4);
      el.appendChild(t);
    } else if (!labels && t) { t.remove(); t = null; }
    if (t) text(t, n.id === 'br' ? '6LBR' : n.id);
    el.node = n;
  }
  for (const [id, el] of state.nodeEls) if (!ids.has(id)) { el.remove(); state.nodeEls.delete(id); }
}

function select(sel) {
  state.selected = sel;
  if (state.snap) drawGraph(state.snap);
  drawDetails();
}

function kv(rows) {
  return rows.filter(([, v]) => v !== undefined && v !== '' && v !== null)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
}

function drawDetails() {
  const sel = state.selected;
  const box = $('details');
  if (!sel) return;
  let html = '';
  if (sel.node) {
    const el = state.nodeEls.get(sel.node);
    if (!el) { box.innerHTML = `${esc(sel.node)} is gone.`; return; }
    const n = el.node;
    html = `<dl class="kv">${kv([['node', n.id], ['kind', n.kind], ['role', n.role], ['status', n.status + (n.refused ? ' (' + n.refused + ')' : '')],
      ['address', n.address], ['link address', n.link_addr], ['parent', n.parent], ['hops', n.hops || undefined],
      ['RPL rank', n.rank || undefined], ['RPL parent', n.rpl_parent], ['echoes', n.echoes], ['forwarded', n.forwarded],
      ['routes', n.routes], ['protected', n.protected ? 'yes (RFC 8928)' : undefined]])}</dl>`;
    if (n.id !== 'br') {
      html += `<div class="controls-only"><button data-act="restart">Restart</button><button data-act="remove">Remove</button><button data-act="add">Add a node near</button></div>`;
    }
  } else if (sel.link) {
    const el = state.linkEls.get(sel.link);
    if (!el) { box.innerHTML = 'The link is gone.'; return; }
    const l = el.link;
    html = `<dl class="kv">${kv([['link', l.a + ' — ' + l.b], ['kind', l.kind], ['RSSI', l.derived ? undefined : l.rssi_dbm + ' dBm'],
      ['LQI', l.derived ? undefined : l.lqi], ['loss', l.derived ? undefined : Math.round(l.loss * 100) + '%'], ['state', l.cut ? 'cut' : 'up']])}</dl>`;
    if (!l.derived) {
      html += `<div class="controls-only"><button data-act="${l.cut ? 'restore' : 'cut'}">${l.cut ? 'Restore' : 'Cut'}</button>` +
        `<label>loss <input id="link-loss" type="number" min="0" max="1" step="0.05" value="${l.loss}"></label><button data-act="loss">Set</button></div>`;
    }
  }
  if (box.dataset.html === html) return;
  box.dataset.html = html;
  box.className = '';
  box.innerHTML = html;
  for (const b of box.querySelectorAll('button[data-act]')) b.addEventListener('click', () => act(b.dataset.act));
}

function act(kind) {
  const sel = state.selected;
  if (sel && sel.node) {
    control(kind === 'add' ? { action: 'add', node: sel.node } : { action: kind, node: sel.node });
  } else if (sel && sel.link) {
    const [a, b] = sel.link.split('|');
    const a1 = { action: kind, a, b };
    if (kind === 'loss') a1.loss = parseFloat($('link-loss').value) || 0;
    control(a1);
  }
}

async function control(action) {
  const msg = $('ctl-msg');
  msg.textContent = action.action + '…';
  try {
    const r = await fetch('api/control', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Lowpanbr-Token': token || '' }, body: JSON.stringify(action),
    });
    const text = (await r.text()).trim();
    msg.textContent = r.ok ? action.action + ': done' : action.action + ': ' + text;
    if (r.status === 403 && /token/i.test(text)) { sessionStorage.removeItem('lowpanbr-token'); token = null; }
  } catch (e) {
    msg.textContent = action.action + ': ' + e;
  }
}

// --- the tables ------------------------------------------------------

function drawRCP(r) {
  if (!r) return;
  setHTML('rcp', kv([['ready', r.ready ? 'yes' : 'NO'], ['firmware', r.firmware], ['EUI-64', r.eui64], ['channel', r.channel], ['PAN ID', r.pan_id],
    ['resets', r.resets], ['reconnects', r.reconnects], ['timeouts', r.timeouts], ['disconnects', r.disconnects], ['URL', r.url]]));
}

// rows keeps a table's rows by key and rewrites only those whose HTML
// changed: in a churning mesh a tenth of the nodes change each second,
// and rebuilding all 300 rows would have the browser lay the whole table
// out again.
function rows(id, items, key, html) {
  const body = $(id).tBodies[0];
  const have = body.rowMap || (body.rowMap = new Map());
  const keep = new Set();
  let prev = null;
  for (const it of items) {
    const k = key(it), h = html(it);
    keep.add(k);
    let tr = have.get(k);
    if (!tr) { tr = document.createElement('tr'); have.set(k, tr); }
    if (tr.html !== h) { tr.html = h; tr.innerHTML = h; }
    const want = prev ? prev.nextSibling : body.firstChild;
    if (want !== tr) body.insertBefore(tr, want);
    prev = tr;
  }
  for (const [k, tr] of have) if (!keep.has(k)) { tr.remove(); have.delete(k); }
}

function drawRegistrations(regs, age) {
  $('reg-count').textContent = regs.length;
  rows('regs', regs, (g) => g.address, (g) => `<td>${esc(g.address)}</td><td>${esc(g.rovr)}</td><td>${dur(g.lifetime_seconds)}</td>` +
    `<td>${dur(g.expires_in_seconds - age)}</td><td>${esc(g.via || (g.link_addr ? 'direct ' + g.link_addr : ''))}</td><td>${g.protected ? 'yes' : ''}</td>`);
}

function drawNodes(nodes) {
  rows('nodes', nodes.filter((n) => n.id !== 'br'), (n) => n.id, (n) => `<td>${esc(n.id)}</td><td>${esc(n.kind)}</td><td>${esc(n.status)}${n.refused ? ' (' + esc(n.refused) + ')' : ''}</td>` +
    `<td>${esc(n.address)}</td><td>${esc(n.parent)}</td><td>${n.hops || ''}</td><td>${n.rank || ''}</td><td>${n.echoes || 0}</td><td>${n.forwarded || 0}</td><td>${n.routes || 0}</td>`);
}

function drawEvents(evs) {
  setHTML('events', evs.slice().reverse().map((e) => `<li class="${esc(e.level)}">${esc(new Date(e.time).toLocaleTimeString())} ${esc(e.level)} ${esc(e.msg)} <span class="muted">${esc(e.attrs)}</span></li>`).join(''));
}

// --- the charts ------------------------------------------------------

const CHARTS = [
  ['tx', (x) => x.tx], ['rx', (x) => x.rx], ['retries', (x) => x.retries + x.failures], ['queue', (x) => x.queue], ['octets', (x) => x.octets], ['goodput', (x) => x.goodput],
];

function drawCharts() {
  const xs = state.samples;
  for (const [name, f] of CHARTS) {
    const c = $('c-' + name), g = c.getContext('2d');
    const w = c.width, h = c.height;
    g.clearRect(0, 0, w, h);
    const vals = xs.map(f);
    const max = Math.max(1, ...vals);
    g.beginPath();
    vals.forEach((v, i) => {
      const x = w - (vals.length - 1 - i) * (w / (HISTORY - 1)), y = h - 2 - (v / max) * (h - 4);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.strokeStyle = '#2f6fd6'; g.lineWidth = 1.5; g.stroke();
    $('v-' + name).textContent = vals.length ? num(vals[vals.length - 1]) + ' (max ' + num(max) + ')' : '';
  }
}

// --- the global controls ---------------------------------------------

$('btn-rcp-reset').addEventListener('click', () => control({ action: 'rcp-reset' }));
$('btn-loss-all').addEventListener('click', () => control({ action: 'loss', loss: parseFloat($('loss-all').value) || 0 }));

connect();
