// Capacity: per NIC utilization against its capacity (table + busiest NICs over time), traffic
// between host pairs, and the capacity forecasts raised by the alerting stage.
import { bps, bytes, pct, time, esc } from '../fmt.js';
import { timeSeries } from './charts.js';

const bar = (v, state) => (v === null ? '–' : `<div class="bar"><i class="${state}" style="width:${Math.min(100, v).toFixed(1)}%"></i><span>${pct(v)}</span></div>`);

export async function render(root, ctx) {
  const d = await ctx.api('capacity', { from: ctx.range.from, to: ctx.range.to });
  if (ctx.stale()) return;
  ctx.publish('capacity', d);
  root.innerHTML = `
    <section class="panel"><div class="toolbar"><h2>Capacity</h2><span class="muted">NIC load = sum of a VM's flows per window; utilization = 8 × bytes/s ÷ NIC capacity (inventory)</span></div>
      <div id="capacity-chart" class="chart"></div></section>
    <section class="panel"><h3>NICs</h3><table class="grid" id="cap-nics"><thead><tr><th>VM</th><th class="num">capacity</th><th class="num">out (mean)</th><th class="num">in (mean)</th>
      <th class="num">out (busiest window)</th><th class="num">in (busiest window)</th><th>peak utilization</th></tr></thead><tbody>${
      d.nics.map((n) => `<tr><td>${esc(n.vm)}</td><td class="num">${n.capacityBitsPerSecond ? `${bytes(n.capacityBitsPerSecond).replace('B', 'bit')}/s` : 'unknown'}</td>
        <td class="num">${bps(n.outAvgBps)}</td><td class="num">${bps(n.inAvgBps)}</td><td class="num">${bps(n.outMaxBps)}</td><td class="num">${bps(n.inMaxBps)}</td>
        <td>${bar(n.peakPct, n.state)}</td></tr>`).join('')}</tbody></table></section>
    <section class="grid2">
      <div class="panel"><h3>Host pairs</h3><table class="grid" id="cap-hosts"><thead><tr><th>hosts</th><th class="num">bytes</th><th class="num">mean</th><th class="num">busiest window</th></tr></thead><tbody>${
        d.hostPairs.map((h) => `<tr><td>${esc(h.a)} ↔ ${esc(h.b)}</td><td class="num">${bytes(h.bytes)}</td><td class="num">${bps(h.avgBps)}</td><td class="num">${bps(h.maxBps)}</td></tr>`).join('')
      }</tbody></table>${d.hostPairs.length ? '' : '<p class="muted">no traffic between known hosts</p>'}</div>
      <div class="panel"><h3>Forecasts</h3>${d.forecasts.length ? `<table class="grid"><thead><tr><th>subject</th><th>severity</th><th>forecast</th><th>since</th></tr></thead><tbody>${
        d.forecasts.map((f) => `<tr><td>${esc(f.vmA ?? f.hostA ?? '–')}${f.vmB || f.hostB ? ` ↔ ${esc(f.vmB ?? f.hostB)}` : ''}</td><td><span class="sev ${esc(f.severity)}">${esc(f.severity)}</span></td><td>${esc(f.summary)}</td><td>${time(f.firstSeen)}</td></tr>`).join('')
      }</tbody></table>` : '<p class="muted">no open capacity forecast: the capacity detector has not predicted any NIC or host pair to run out</p>'}</div>
    </section>`;
  ctx.chart('capacity', root.querySelector('#capacity-chart')).setOption(timeSeries({
    title: 'Utilization of the busiest NICs (highest of in/out per bucket)', unit: '%', fmt: pct, zoom: true,
    range: d,
    // A bucket without flows is an idle NIC (0 %), not a gap: fill every bucket of the range.
    series: d.series.map((s) => {
      const at = new Map(s.points.map((p) => [Date.parse(p.t), p.utilizationPct]));
      const data = [];
      for (let t = Date.parse(d.from); t < Date.parse(d.to); t += d.stepSeconds * 1000) data.push([t, at.get(t) ?? 0]);
      return { name: s.vm, data };
    }),
    markLines: [{ yAxis: d.thresholds.utilizationPct.warning, name: 'warning' }, { yAxis: d.thresholds.utilizationPct.critical, name: 'critical' }],
  }));
}
