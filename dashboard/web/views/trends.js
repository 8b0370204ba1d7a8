// Trends: bytes/s over time by one dimension, top N stacked, zoomable, with the previous period.
import { bytes, bps, esc } from '../fmt.js';
import { timeSeries } from './charts.js';

const DIMS = [['vm', 'VM (sender)'], ['pair', 'VM pair'], ['host', 'host (sender)'], ['tenant', 'tenant (sender)'],
  ['src_ip', 'source IP'], ['dst_ip', 'destination IP'], ['protocol', 'protocol'], ['service_port', 'service port']];

export async function render(root, ctx) {
  const dimension = ctx.params.dimension ?? 'vm';
  const top = Number(ctx.params.top ?? 8);
  const d = await ctx.api('trends', { dimension, top, from: ctx.range.from, to: ctx.range.to });
  if (ctx.stale()) return;
  ctx.publish('trends', d);
  root.innerHTML = `
    <section class="panel">
      <div class="toolbar"><h2>Trends</h2>
        <label>by <select id="tr-dim">${DIMS.map(([v, l]) => `<option value="${v}" ${v === dimension ? 'selected' : ''}>${l}</option>`).join('')}</select></label>
        <label>top <select id="tr-top">${[5, 8, 10, 20].map((n) => `<option ${n === top ? 'selected' : ''}>${n}</option>`).join('')}</select></label>
        <span class="muted">${d.stepSeconds} s buckets · drag the slider below the chart to zoom</span>
      </div>
      <div id="trends-chart" class="chart tall"></div>
    </section>
    <section class="panel"><h3>Totals</h3><table class="grid"><thead><tr><th>${esc(DIMS.find((x) => x[0] === dimension)[1])}</th><th class="num">bytes</th><th class="num">mean rate</th><th class="num">share</th></tr></thead><tbody>${
      (() => { const all = d.series.reduce((a, s) => a + s.totalBytes, 0) || 1; const secs = (Date.parse(d.to) - Date.parse(d.from)) / 1000;
        return d.series.map((s) => `<tr><td>${esc(s.key)}</td><td class="num">${bytes(s.totalBytes)}</td><td class="num">${bps(s.totalBytes / secs)}</td><td class="num">${(100 * s.totalBytes / all).toFixed(1)} %</td></tr>`).join('')
          + `<tr class="muted"><td>previous period (all)</td><td class="num">${bytes(d.previous.totalBytes)}</td><td class="num">${bps(d.previous.totalBytes / secs)}</td><td></td></tr>`; })()
    }</tbody></table></section>`;
  const chart = ctx.chart('trends', root.querySelector('#trends-chart'));
  chart.setOption(timeSeries({
    range: d, title: `Traffic by ${DIMS.find((x) => x[0] === dimension)[1]}`, unit: 'bytes/s', fmt: bps, stack: true, zoom: true,
    series: [
      ...d.series.map((s) => ({ name: s.key, data: d.buckets.map((t, i) => [t, s.bytesPerSecond[i]]) })),
      { name: 'previous period (total)', data: d.buckets.map((t, i) => [t, d.previous.bytesPerSecond[i]]), dashed: true, noStack: true, color: '#59636e' },
    ],
  }));
  const go = () => ctx.navigate('trends', { dimension: root.querySelector('#tr-dim').value, top: root.querySelector('#tr-top').value });
  root.querySelector('#tr-dim').addEventListener('change', go);
  root.querySelector('#tr-top').addEventListener('change', go);
}
