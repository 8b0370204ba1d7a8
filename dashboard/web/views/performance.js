// Performance dashboard: RTT, throughput and loss as gauges coloured by threshold state, and the
// per-pair table, sortable by clicking a column header.
import { bps, bytes, ms, pct, int, esc, HEALTH_COLOURS } from '../fmt.js';

const COLUMNS = [
  ['pair', null], ['bytes', 'bytes', bytes], ['avgBps', 'mean rate', bps], ['maxBps', 'peak rate', bps], ['rttMs', 'RTT', ms],
  ['rttMaxMs', 'RTT max', ms], ['jitterMs', 'jitter', ms], ['lossPct', 'loss', pct], ['retransmitted', 'retransmitted', int],
  ['utilizationPct', 'NIC util.', pct],
];

function gauge(title, value, max, unit, fmt, t, state) {
  const v = value ?? 0;
  const top = Math.max(max, t.critical * 1.25);
  return {
    animation: false,
    series: [{
      type: 'gauge', min: 0, max: top, radius: '88%', center: ['50%', '58%'], startAngle: 200, endAngle: -20,
      axisLine: { lineStyle: { width: 14, color: [[t.warning / top, HEALTH_COLOURS.ok], [t.critical / top, HEALTH_COLOURS.warning], [1, HEALTH_COLOURS.critical]] } },
      pointer: { width: 5, itemStyle: { color: HEALTH_COLOURS[state] ?? '#555' } }, axisTick: { show: false }, splitLine: { length: 10 },
      axisLabel: { show: false },
      title: { offsetCenter: [0, '78%'], fontSize: 12, color: '#6b7680' }, detail: { offsetCenter: [0, '45%'], fontSize: 20, fontWeight: 600, formatter: () => (value === null ? '–' : fmt(value)) },
      data: [{ value: Math.min(v, top), name: title }],
    }],
  };
}

export async function render(root, ctx) {
  const sort = ctx.params.sort ?? 'bytes';
  const order = ctx.params.order ?? 'desc';
  const d = await ctx.api('performance', { from: ctx.range.from, to: ctx.range.to, sort, order });
  if (ctx.stale()) return;
  ctx.publish('performance', d);
  const c = d.cards;
  root.innerHTML = `
    <section class="cards3">
      <div class="panel card-gauge ${c.rtt.state}"><h3>RTT</h3><div id="perf-rtt" class="gauge"></div>
        <p>avg <b>${ms(c.rtt.avgMs)}</b> · max <b>${ms(c.rtt.maxMs)}</b> · ΔRTT <b>${c.rtt.deltaMs === null ? '–' : `${c.rtt.deltaMs >= 0 ? '+' : ''}${ms(c.rtt.deltaMs)}`}</b> vs previous period</p></div>
      <div class="panel card-gauge ${c.throughput.state}"><h3>Throughput</h3><div id="perf-throughput" class="gauge"></div>
        <p>avg <b>${bps(c.throughput.avgBps)}</b> · max <b>${bps(c.throughput.maxBps)}</b> · peak utilization <b>${pct(c.throughput.utilizationMaxPct)}</b></p></div>
      <div class="panel card-gauge ${c.loss.state}"><h3>Loss</h3><div id="perf-loss" class="gauge"></div>
        <p>avg <b>${pct(c.loss.avgPct)}</b> · max <b>${pct(c.loss.maxPct)}</b> · threshold <b>${pct(c.loss.threshold.warning)}</b> / <b>${pct(c.loss.threshold.critical)}</b></p></div>
    </section>
    <section class="panel"><div class="toolbar"><h3>Pairs</h3><span class="muted">${d.totalPairs} pairs · click a header to sort · click a row for the drill-down</span></div>
      <table class="grid" id="perf-table"><thead><tr>${COLUMNS.map(([k, l]) => `<th class="${k === 'pair' ? '' : 'num sortable'}" data-sort="${k}">${k === 'pair' ? 'pair' : l}${k === sort ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</th>`).join('')}<th>health</th></tr></thead>
      <tbody>${d.pairs.map((p) => `<tr class="click" data-a="${esc(p.a)}" data-b="${esc(p.b)}"><td>${esc(p.a)} ↔ ${esc(p.b)}</td>${
        COLUMNS.slice(1).map(([k, , f]) => `<td class="num ${k === 'rttMs' ? p.rttState : k === 'lossPct' ? p.lossState : k === 'utilizationPct' ? p.utilizationState : ''}">${f(p[k])}</td>`).join('')
      }<td><span class="dot ${p.health}"></span>${p.health}${p.alerts ? ` (${p.alerts} alerts)` : ''}</td></tr>`).join('')}</tbody></table></section>`;
  ctx.chart('perf-rtt', root.querySelector('#perf-rtt')).setOption(gauge('max RTT', c.rtt.maxMs, c.rtt.maxMs ?? 0, 'ms', ms, c.rtt.threshold, c.rtt.state));
  ctx.chart('perf-throughput', root.querySelector('#perf-throughput')).setOption(gauge('peak NIC utilization', c.throughput.utilizationMaxPct, 100, '%', pct, c.throughput.threshold, c.throughput.state));
  ctx.chart('perf-loss', root.querySelector('#perf-loss')).setOption(gauge('max loss', c.loss.maxPct, c.loss.maxPct ?? 0, '%', pct, c.loss.threshold, c.loss.state));
  for (const th of root.querySelectorAll('th.sortable')) {
    th.addEventListener('click', () => ctx.navigate('performance', { sort: th.dataset.sort, order: th.dataset.sort === sort && order === 'desc' ? 'asc' : 'desc' }));
  }
  for (const tr of root.querySelectorAll('tr[data-a]')) tr.addEventListener('click', () => ctx.navigate('pair', { a: tr.dataset.a, b: tr.dataset.b }));
}
