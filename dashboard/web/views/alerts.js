// Anomaly events: filter, sort, ack/resolve (operator role), and the detail of one alert with
// its evidence chart (the measured value against the alert's baseline and threshold).
import { time, esc, HEALTH_COLOURS } from '../fmt.js';
import { timeSeries, filled } from './charts.js';

const TYPES = ['traffic_burst', 'new_pair', 'port_scan', 'host_sweep', 'syn_flood', 'icmp_flood', 'connection_failures', 'dns_nxdomain_burst',
  'dns_tunnel_suspect', 'rtt_threshold', 'jitter_threshold', 'loss_threshold', 'utilization_threshold', 'capture_drops', 'capacity_forecast'];
const SORTABLE = [['last_seen', 'last seen'], ['type', 'type'], ['severity', 'severity'], ['state', 'state']];
const sel = (id, label, values, current) => `<label>${label} <select id="${id}"><option value="">all</option>${
  values.map((v) => `<option ${v === current ? 'selected' : ''}>${v}</option>`).join('')}</select></label>`;

let details = 0;
async function detail(root, ctx, id) {
  const box = root.querySelector('#al-detail');
  const n = ++details;
  const d = await ctx.api(`alerts/${encodeURIComponent(id)}`);
  if (ctx.stale() || n !== details) return;
  ctx.publish('alert', d);
  const a = d.alert;
  const ev = d.evidence;
  const f = (v) => (v === null ? '–' : `${(v * ev.alertScale).toLocaleString('en-US', { maximumFractionDigits: 3 })}${ev.unit ? ` ${ev.unit}` : ''}`);
  box.innerHTML = `<div class="toolbar"><h3>${esc(a.type)} — <span class="sev ${esc(a.severity)}">${esc(a.severity)}</span> ${esc(a.state)}</h3></div>
    <p>${esc(a.summary)}</p>
    <p class="muted">${time(a.firstSeen)} → ${time(a.lastSeen)} · ${esc(a.vmA ?? a.addrA ?? '–')}${a.vmB || a.addrB ? ` ↔ ${esc(a.vmB ?? a.addrB)}` : ''} · detector ${esc(a.detector)}
      ${a.ackedAt ? ` · acked ${time(a.ackedAt)} by ${esc(a.ackedBy)}` : ''}${a.resolvedBy ? ` · resolved by ${esc(a.resolvedBy)}` : ''}</p>
    <p>metric <b>${esc(a.metric ?? '–')}</b>: value <b>${f(a.value)}</b> · baseline <b>${f(a.baseline)}</b> · threshold <b>${f(a.threshold)}</b></p>
    <div id="alert-evidence" class="chart"></div>
    ${Object.keys(a.evidence ?? {}).length ? `<table class="grid kv">${Object.entries(a.evidence).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>` : ''}
    ${a.vmA && a.vmB ? `<p><a href="#" id="al-pair">open the pair drill-down</a></p>` : ''}`;
  const marks = [];
  if (a.baseline !== null) marks.push({ yAxis: a.baseline * ev.alertScale, name: 'baseline', label: { formatter: 'baseline' }, lineStyle: { color: '#59636e', type: 'dashed' } });
  if (a.threshold !== null) marks.push({ yAxis: a.threshold * ev.alertScale, name: 'threshold', label: { formatter: 'threshold' }, lineStyle: { color: HEALTH_COLOURS.critical } });
  // bytes: a bucket without flows is 0 B/s; other metrics: no sample, a gap
  const points = ev.points.length ? filled(ev, ev.stepSeconds, ev.points, (p) => p.value, ev.unit === 'bytes/s' ? 0 : null)
    : d.states.map((s) => [s.updated, s.value === null ? null : s.value * ev.alertScale]);
  const fmt = (v) => `${Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 })}${ev.unit ? ` ${ev.unit}` : ''}`;
  window.tapline.charts['alert-evidence']?.dispose(); // the previous alert's chart (its element is gone)
  const chart = ctx.chart('alert-evidence', box.querySelector('#alert-evidence'));
  chart.setOption(timeSeries({ range: d.evidence, title: `Evidence: ${ev.source ?? 'the alert\'s own states'}`, unit: ev.unit ?? a.metric ?? '', fmt, series: [
    { name: a.metric ?? 'value', data: points, color: '#3b7dd8' },
  ], markLines: marks }));
  chart.setOption({ series: [{ markArea: { silent: true, itemStyle: { color: 'rgba(214,69,69,0.08)' }, data: [[{ xAxis: a.firstSeen }, { xAxis: a.lastSeen }]] } }] });
  box.querySelector('#al-pair')?.addEventListener('click', (e) => { e.preventDefault(); ctx.navigate('pair', { a: a.vmA, b: a.vmB }); });
}

export async function render(root, ctx) {
  const p = ctx.params;
  const sort = p.sort ?? 'last_seen';
  const order = p.order ?? 'desc';
  const d = await ctx.api('alerts', { from: ctx.range.from, to: ctx.range.to, state: p.state, severity: p.severity, type: p.type, sort, order });
  if (ctx.stale()) return;
  ctx.publish('alerts', d);
  const operator = ctx.role === 'operator';
  root.innerHTML = `
    <section class="panel">
      <div class="toolbar"><h2>Anomaly events</h2>
        ${sel('al-state', 'state', ['active', 'open', 'updated', 'resolved'], p.state)}
        ${sel('al-severity', 'severity', ['critical', 'warning', 'info'], p.severity)}
        ${sel('al-type', 'type', TYPES, p.type)}
        <span class="muted">${d.total} alerts${operator ? '' : ' · read-only (viewer): acknowledging needs the operator role'}</span>
      </div>
      <table class="grid" id="al-table"><thead><tr>${SORTABLE.map(([k, l]) => `<th class="sortable" data-sort="${k}">${l}${k === sort ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</th>`).join('')}<th>VMs</th><th>summary</th><th>actions</th></tr></thead>
      <tbody>${d.alerts.map((a) => `<tr class="click" data-id="${esc(a.id)}">
        <td>${time(a.lastSeen)}</td><td>${esc(a.type)}</td><td><span class="sev ${esc(a.severity)}">${esc(a.severity)}</span></td>
        <td class="state">${esc(a.state)}${a.ackedAt ? ' <span class="acked">acked</span>' : ''}</td>
        <td>${esc(a.vmA ?? a.addrA ?? '–')}${a.vmB || a.addrB ? ` ↔ ${esc(a.vmB ?? a.addrB)}` : ''}</td><td>${esc(a.summary)}</td>
        <td class="actions"><button class="ack" ${operator && !a.ackedAt ? '' : 'disabled'} title="${operator ? 'acknowledge' : 'needs the operator role'}">ack</button>
          <button class="resolve" ${operator && a.state !== 'resolved' ? '' : 'disabled'} title="${operator ? 'resolve' : 'needs the operator role'}">resolve</button></td></tr>`).join('')}
      </tbody></table>
      ${d.alerts.length ? '' : '<p class="muted">no alerts match</p>'}
    </section>
    <section class="panel" id="al-detail"><p class="muted">click an alert to see its evidence</p></section>`;
  const go = (extra = {}) => ctx.navigate('alerts', { state: root.querySelector('#al-state').value, severity: root.querySelector('#al-severity').value,
    type: root.querySelector('#al-type').value, sort, order, ...extra });
  for (const id of ['al-state', 'al-severity', 'al-type']) root.querySelector(`#${id}`).addEventListener('change', () => go());
  for (const th of root.querySelectorAll('th.sortable')) th.addEventListener('click', () => go({ sort: th.dataset.sort, order: th.dataset.sort === sort && order === 'desc' ? 'asc' : 'desc' }));
  for (const tr of root.querySelectorAll('tr[data-id]')) {
    tr.addEventListener('click', (ev) => {
      const btn = ev.target.closest('button');
      if (btn) {
        ev.stopPropagation();
        const action = btn.classList.contains('ack') ? 'ack' : 'resolve';
        btn.disabled = true;
        ctx.api(`alerts/${encodeURIComponent(tr.dataset.id)}/${action}`, {}, { method: 'POST' })
          .then((r) => {
            tr.querySelector('.state').innerHTML = `${esc(r.alert.state)}${r.alert.ackedAt ? ' <span class="acked">acked</span>' : ''}`;
            tr.querySelector('.ack').disabled = true;
            if (r.alert.state === 'resolved') tr.querySelector('.resolve').disabled = true;
            ctx.toast(action === 'ack' ? `acknowledged by ${r.alert.ackedBy}` : `resolved by ${r.alert.resolvedBy}`, 'ok');
          })
          .catch((e) => { btn.disabled = false; ctx.toast(`${action} refused: ${e.message}`); });
        return;
      }
      for (const other of root.querySelectorAll('tr.selected')) other.classList.remove('selected');
      tr.classList.add('selected');
      detail(root, ctx, tr.dataset.id).then(() => root.querySelector('#al-detail').scrollIntoView({ block: 'nearest' })).catch((e) => ctx.toast(e.message));
    });
  }
  const first = p.id ?? d.alerts[0]?.id;
  if (first) {
    root.querySelector(`tr[data-id="${CSS.escape(first)}"]`)?.classList.add('selected');
    await detail(root, ctx, first).catch((e) => ctx.toast(e.message));
  }
}
