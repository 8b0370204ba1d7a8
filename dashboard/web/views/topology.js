// Topology: VMs grouped by physical host (boxes) and coloured by tenant, edges = VM pairs in the
// range (width by bytes, colour by health, dashed = new against the previous period), external
// peers collapsed into one node. The time slider moves the window to any past moment.
import { bytes, ms, pct, time, esc, HEALTH_COLOURS } from '../fmt.js';

const TENANT_COLOURS = ['#3b7dd8', '#8e44ad', '#16a085', '#d35400', '#c0392b', '#2c3e50', '#7f8c8d'];
/** A tenant keeps its colour whichever tenants a window shows (hash of the name, not its rank). */
function tenantColour(t) {
  let h = 0;
  for (const c of t) h = (h * 31 + c.charCodeAt(0)) | 0;
  return TENANT_COLOURS[Math.abs(h) % TENANT_COLOURS.length];
}
const WINDOWS = [[300_000, '5 min'], [900_000, '15 min'], [3_600_000, '1 h'], [6 * 3_600_000, '6 h'], [86_400_000, '24 h']];

/** Positions: hosts side by side, their VMs on a circle inside; external peers on the right. */
function layout(nodes) {
  const hosts = [...new Set(nodes.filter((n) => !n.external).map((n) => n.host ?? '(unknown host)'))].sort();
  const pos = new Map();
  const boxes = [];
  const W = 320;
  hosts.forEach((h, i) => {
    const vms = nodes.filter((n) => !n.external && (n.host ?? '(unknown host)') === h);
    const cx = i * (W + 60) + W / 2;
    const cy = 220;
    const r = vms.length > 1 ? 95 : 0;
    vms.forEach((n, j) => {
      const a = (2 * Math.PI * j) / vms.length - Math.PI / 2;
      pos.set(n.id, [cx + r * Math.cos(a), cy + r * Math.sin(a)]);
    });
    boxes.push({ host: h, x: cx, y: cy, count: vms.length });
  });
  const ext = nodes.find((n) => n.external);
  if (ext) pos.set(ext.id, [hosts.length * (W + 60) + 80, 220]);
  return { pos, boxes, W };
}

function option(data, tenants) {
  const { pos, boxes, W } = layout(data.nodes);
  const maxBytes = Math.max(1, ...data.edges.map((e) => e.bytes));
  const hostNodes = boxes.map((b) => ({
    id: `host:${b.host}`, name: `host ${b.host}`, x: b.x, y: b.y, symbol: 'roundRect', symbolSize: [W, 330], z: 0,
    itemStyle: { color: 'rgba(120,140,160,0.07)', borderColor: '#b8c2cc', borderWidth: 1, borderType: 'dashed' },
    label: { show: true, position: 'insideTop', formatter: `{h|${b.host}}  ${b.count} VM${b.count === 1 ? '' : 's'}`, color: '#59636e', rich: { h: { fontWeight: 'bold', fontSize: 14 } } },
    silent: true, category: tenants.length, tooltip: { show: false },
  }));
  const vmNodes = data.nodes.map((n) => ({
    id: n.id, name: n.name, x: pos.get(n.id)[0], y: pos.get(n.id)[1], z: 2,
    value: n.bytes, category: n.external ? tenants.length + 1 : tenants.indexOf(n.tenant ?? '(no tenant)'),
    symbol: n.external ? 'diamond' : 'circle', symbolSize: n.external ? 34 : 20 + Math.min(24, 4 * Math.log10(1 + n.bytes)),
    itemStyle: n.migrated ? { borderColor: '#7b2ff7', borderWidth: 4 } : undefined,
    label: { show: true, position: 'bottom', formatter: n.migrated ? `${n.name} ⇄` : n.name },
    raw: n,
  }));
  const links = data.edges.map((e) => ({
    source: e.source, target: e.target, value: e.bytes,
    lineStyle: { width: 1.5 + 8 * Math.sqrt(e.bytes / maxBytes), color: HEALTH_COLOURS[e.health], type: e.isNew ? 'dashed' : 'solid', opacity: 0.9, curveness: 0.08 },
    label: { show: e.isNew, formatter: 'new', color: '#555', fontSize: 10 },
    raw: e,
  }));
  // Host boxes are symbols sized in pixels: map coordinates 1:1 to pixels (series width/height =
  // the layout's extent, pinned by two invisible corner anchors) so the boxes enclose their VMs.
  const xs = [...boxes.flatMap((b) => [b.x - W / 2, b.x + W / 2]), ...[...pos.values()].map((p) => p[0] + 40)];
  const ys = [...boxes.flatMap((b) => [b.y - 165, b.y + 165]), ...[...pos.values()].map((p) => p[1] + 30)];
  const [x0, x1, y0, y1] = [Math.min(...xs, 0), Math.max(...xs, 1), Math.min(...ys, 0), Math.max(...ys, 1)];
  const anchors = [[x0, y0], [x1, y1]].map(([x, y], i) => ({ id: `anchor:${i}`, name: '', x, y, symbolSize: 0, silent: true, label: { show: false }, tooltip: { show: false }, category: tenants.length }));
  const categories = [...tenants.map((t) => ({ name: `tenant ${t}`, itemStyle: { color: tenantColour(t) } })),
    { name: 'host', itemStyle: { color: 'transparent' } }, { name: 'external peers', itemStyle: { color: '#9aa3ad' } }];
  return {
    animation: false,
    tooltip: {
      formatter: (p) => {
        if (p.dataType === 'edge') {
          const e = p.data.raw;
          return `<b>${esc(e.source)} ↔ ${esc(e.target)}</b><br>${bytes(e.bytes)} in ${e.flows} flows<br>RTT ${ms(e.rttMs)} · loss ${pct(e.lossPct)}<br>` +
            `health <b style="color:${HEALTH_COLOURS[e.health]}">${e.health}</b>${e.alerts ? ` · ${e.alerts} open alerts` : ''}${e.isNew ? '<br><i>new against the previous period</i>' : ''}<br><small>click for the drill-down</small>`;
        }
        const n = p.data.raw;
        return n ? `<b>${esc(n.name)}</b> (${esc(n.id)})<br>host ${esc(n.host ?? '–')} · tenant ${esc(n.tenant ?? '–')}<br>${bytes(n.bytes)} exchanged${n.migrated ? '<br><b>migrated in this range</b>' : ''}` : '';
      },
    },
    legend: [{ data: categories.filter((c) => c.name !== 'host').map((c) => c.name), top: 0, left: 0 }],
    series: [{
      type: 'graph', layout: 'none', roam: true, draggable: false, categories, data: [...anchors, ...hostNodes, ...vmNodes], links,
      left: 20, top: 40, width: x1 - x0, height: y1 - y0,
      emphasis: { focus: 'adjacency', lineStyle: { width: 6 } }, edgeSymbol: ['none', 'none'], labelLayout: { hideOverlap: false },
    }],
  };
}

export async function render(root, ctx) {
  const span = ctx.range.to - ctx.range.from;
  const dataStart = ctx.meta.data.start ? Date.parse(ctx.meta.data.start) : ctx.range.from;
  const dataEnd = ctx.meta.data.end ? Date.parse(ctx.meta.data.end) : ctx.range.to;
  let win = Number(ctx.params.window) || WINDOWS.reduce((best, w) => (w[0] <= span ? w[0] : best), WINDOWS[0][0]);
  let at = Number(ctx.params.at) || ctx.range.to;
  root.innerHTML = `
    <section class="panel">
      <div class="toolbar">
        <h2>Topology</h2>
        <label>window <select id="topo-window">${WINDOWS.map(([v, l]) => `<option value="${v}" ${v === win ? 'selected' : ''}>${l}</option>`).join('')}</select></label>
        <label class="grow">at <input id="topo-slider" type="range" min="${Math.min(dataStart + 60_000, dataEnd)}" max="${dataEnd}" step="60000" value="${at}"></label>
        <span id="topo-at" class="mono"></span>
      </div>
      <div class="legend-line">
        edge colour: <i class="sw" style="background:${HEALTH_COLOURS.ok}"></i>ok <i class="sw" style="background:${HEALTH_COLOURS.warning}"></i>warning
        <i class="sw" style="background:${HEALTH_COLOURS.critical}"></i>critical <i class="sw" style="background:${HEALTH_COLOURS.unknown}"></i>no RTT/loss data
        · width: bytes · dashed: new pair · ⇄ purple ring: migrated
      </div>
      <div id="topo-chart" class="chart tall"></div>
      <div id="topo-summary" class="muted"></div>
    </section>
    <section class="panel"><h3>Migrations in the window</h3><div id="topo-migrations"></div></section>`;
  const chart = ctx.chart('topology', root.querySelector('#topo-chart'));
  chart.on('click', (p) => {
    if (p.dataType === 'edge' && p.data.raw) ctx.navigate('pair', { a: p.data.raw.source, b: p.data.raw.target });
  });
  const slider = root.querySelector('#topo-slider');
  let loads = 0;
  const load = async () => {
    const n = ++loads;
    const from = at - win;
    root.querySelector('#topo-at').textContent = `${time(new Date(from).toISOString())} → ${time(new Date(at).toISOString())}`;
    const data = await ctx.api('topology', { from, to: at });
    if (ctx.stale() || n !== loads) return;
    ctx.publish('topology', data);
    const tenants = [...new Set(data.nodes.filter((n) => !n.external).map((n) => n.tenant ?? '(no tenant)'))].sort();
    chart.setOption(option(data, tenants), { notMerge: true });
    const newEdges = data.edges.filter((e) => e.isNew).length;
    root.querySelector('#topo-summary').textContent = data.edges.length
      ? `${data.nodes.filter((n) => !n.external).length} VMs, ${data.edges.length} pairs (${newEdges} new against ${time(data.previousFrom)} → ${time(data.from)}), ${bytes(data.edges.reduce((a, e) => a + e.bytes, 0))}`
      : 'no traffic between VMs in this window: move the slider or widen the window';
    root.querySelector('#topo-migrations').innerHTML = data.migrations.length
      ? `<table class="grid"><thead><tr><th>time</th><th>VM</th><th>from host</th><th>to host</th><th>seen by</th></tr></thead><tbody>${
        data.migrations.map((m) => `<tr><td>${time(m.at)}</td><td>${esc(m.name ?? m.vm)}</td><td>${esc(m.fromHost)}</td><td>${esc(m.toHost)}</td><td>${esc(m.source)}</td></tr>`).join('')}</tbody></table>`
      : '<p class="muted">none</p>';
  };
  slider.addEventListener('change', () => { at = Number(slider.value); load().catch((e) => ctx.toast(e.message)); });
  slider.addEventListener('input', () => { root.querySelector('#topo-at').textContent = `… → ${time(new Date(Number(slider.value)).toISOString())}`; });
  root.querySelector('#topo-window').addEventListener('change', (ev) => { win = Number(ev.target.value); load().catch((e) => ctx.toast(e.message)); });
  await load();
}
