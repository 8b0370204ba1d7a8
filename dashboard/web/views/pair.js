// Pair drill-down: everything needed to say where a problem between two VMs is, on one screen.
import { bytes, bps, ms, pct, int, time, esc, HEALTH_COLOURS } from '../fmt.js';
import { timeSeries, point } from './charts.js';

function card(label, value, sub = '', state = 'unknown') {
  return `<div class="card ${state}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
}

async function picker(root, ctx) {
  const topo = await ctx.api('topology', { from: ctx.range.from, to: ctx.range.to });
  root.innerHTML = `<section class="panel"><h2>Pair drill-down</h2><p>Choose a pair (or click an edge in the topology):</p>
    <table class="grid"><thead><tr><th>pair</th><th>bytes</th><th>RTT</th><th>loss</th><th>health</th></tr></thead><tbody>${
      topo.edges.map((e) => `<tr class="click" data-a="${esc(e.source)}" data-b="${esc(e.target)}"><td>${esc(e.source)} ↔ ${esc(e.target)}</td><td>${bytes(e.bytes)}</td><td>${ms(e.rttMs)}</td><td>${pct(e.lossPct)}</td><td><span class="dot ${e.health}"></span>${e.health}</td></tr>`).join('')
    }</tbody></table></section>`;
  for (const tr of root.querySelectorAll('tr[data-a]')) tr.addEventListener('click', () => ctx.navigate('pair', { a: tr.dataset.a, b: tr.dataset.b }));
}

export async function render(root, ctx) {
  const { a, b } = ctx.params;
  if (!a || !b) return picker(root, ctx);
  const d = await ctx.api('pair', { a, b, from: ctx.range.from, to: ctx.range.to });
  if (ctx.stale()) return;
  ctx.publish('pair', d);
  const s = d.summary;
  root.innerHTML = `
    <section class="panel">
      <div class="toolbar"><h2>${esc(a)} ↔ ${esc(b)}</h2><span class="muted">${time(d.from)} → ${time(d.to)}, ${d.stepSeconds} s buckets</span></div>
      <div class="cards">
        ${card('RTT (end to end)', ms(s?.rttMs), `max ${ms(s?.rttMaxMs)} · jitter ${ms(s?.jitterMs)}`, s?.rttState)}
        ${card('loss', pct(s?.lossPct), s ? `${int(s.retransmitted)} retransmitted · ${int(s.lostBeforeMirror)} before mirror` : '', s?.lossState)}
        ${card('capture loss', s ? int(s.captureLoss) : '–', 'gaps the sensor missed (not the network)', s && s.captureLoss > 0 ? 'warning' : 'ok')}
        ${card('traffic', bytes(s?.bytes ?? d.traffic.reduce((x, r) => x + r.bytesAB + r.bytesBA, 0)), `peak ${bps(s?.maxBps)}`, 'ok')}
        ${card('NIC utilization', pct(s?.utilizationPct), 'highest window mean', s?.utilizationState)}
      </div>
      <h3>Where is the problem?</h3>
      <ul class="findings">${d.diagnosis.map((f) => `<li class="${f.severity}"><b>${esc(f.where)}</b>: ${esc(f.text)}</li>`).join('')}</ul>
    </section>
    <section class="grid2">
      <div class="panel"><div id="pair-rtt" class="chart"></div></div>
      <div class="panel"><div id="pair-percentiles" class="chart"></div></div>
      <div class="panel"><div id="pair-traffic" class="chart"></div></div>
      <div class="panel"><div id="pair-loss" class="chart"></div></div>
      <div class="panel"><div id="pair-handshake" class="chart"></div></div>
      <div class="panel"><div id="pair-l7" class="chart"></div></div>
    </section>
    <section class="panel"><h3>Alerts for this pair</h3>${d.alerts.length
      ? `<table class="grid"><thead><tr><th>first seen</th><th>type</th><th>severity</th><th>state</th><th>summary</th></tr></thead><tbody>${
        d.alerts.map((x) => `<tr class="click" data-id="${esc(x.id)}"><td>${time(x.firstSeen)}</td><td>${esc(x.type)}</td><td><span class="sev ${esc(x.severity)}">${esc(x.severity)}</span></td><td>${esc(x.state)}${x.acked ? ' (acked)' : ''}</td><td>${esc(x.summary)}</td></tr>`).join('')}</tbody></table>`
      : '<p class="muted">no alerts for this pair in the range</p>'}</section>`;
  for (const tr of root.querySelectorAll('tr[data-id]')) tr.addEventListener('click', () => ctx.navigate('alerts', { id: tr.dataset.id }));

  const r = d.rtt;
  ctx.chart('pair-rtt', root.querySelector('#pair-rtt')).setOption(timeSeries({
    range: d, title: 'RTT split at the mirror', unit: 'ms', fmt: ms,
    series: [
      { name: 'server side (data)', data: r.map((x) => point(x.t, x.serverMs)), color: '#d35400' },
      { name: 'client side (data)', data: r.map((x) => point(x.t, x.clientMs)), color: '#3b7dd8' },
      { name: 'server side (handshake)', data: r.map((x) => point(x.t, x.handshakeServerMs)), color: '#d35400', dashed: true },
      { name: 'client side (handshake)', data: r.map((x) => point(x.t, x.handshakeClientMs)), color: '#3b7dd8', dashed: true },
    ],
    markLines: [{ yAxis: ctx.meta.thresholds.rttMs.warning, name: 'warning', lineStyle: { color: HEALTH_COLOURS.warning } }],
  }));
  ctx.chart('pair-percentiles', root.querySelector('#pair-percentiles')).setOption(timeSeries({
    range: d, title: 'RTT percentiles and jitter (end to end)', unit: 'ms', fmt: ms,
    series: [
      { name: 'p50', data: r.map((x) => point(x.t, x.p50Ms)) },
      { name: 'p95', data: r.map((x) => point(x.t, x.p95Ms)) },
      { name: 'p99', data: r.map((x) => point(x.t, x.p99Ms)) },
      { name: 'jitter', data: r.map((x) => point(x.t, x.jitterMs)), dashed: true },
    ],
  }));
  ctx.chart('pair-traffic', root.querySelector('#pair-traffic')).setOption(timeSeries({
    range: d, title: 'Throughput', unit: 'bytes/s', fmt: bps, zoom: true,
    series: [
      { name: `${a} → ${b}`, data: d.traffic.map((x) => point(x.t, x.bpsAB)) },
      { name: `${b} → ${a}`, data: d.traffic.map((x) => point(x.t, x.bpsBA)) },
    ],
  }));
  ctx.chart('pair-loss', root.querySelector('#pair-loss')).setOption(timeSeries({
    range: d, title: 'Retransmissions and loss (segments)', unit: 'segments', fmt: int, stack: true,
    series: [
      { name: 'retransmitted (after mirror)', type: 'bar', data: r.map((x) => point(x.t, x.retransmitted)), color: '#d64545' },
      { name: 'lost before mirror', type: 'bar', data: r.map((x) => point(x.t, x.lostBeforeMirror)), color: '#e0a100' },
      { name: 'capture loss', type: 'bar', data: r.map((x) => point(x.t, x.captureLoss)), color: '#7b2ff7' },
      { name: 'out of order', type: 'bar', data: r.map((x) => point(x.t, x.outOfOrder)), color: '#9aa3ad' },
    ],
  }));
  ctx.chart('pair-handshake', root.querySelector('#pair-handshake')).setOption(timeSeries({
    range: d, title: 'Connections: attempts, unanswered SYNs, resets', unit: 'count', fmt: int,
    series: [
      { name: 'SYN (attempts)', type: 'bar', data: d.traffic.map((x) => point(x.t, x.syns)), color: '#3b7dd8' },
      { name: 'unanswered SYN', type: 'bar', data: d.traffic.map((x) => point(x.t, x.unansweredSyn)), color: '#d64545' },
      { name: 'RST', type: 'bar', data: d.traffic.map((x) => point(x.t, x.resets)), color: '#e0a100' },
    ],
  }));
  const kinds = [...new Set(d.l7.map((x) => x.kind))];
  ctx.chart('pair-l7', root.querySelector('#pair-l7')).setOption(timeSeries({
    range: d, title: kinds.length ? 'Application latency (DNS / HTTP)' : 'Application latency (DNS / HTTP): no answers in range', unit: 'ms', fmt: ms,
    series: kinds.map((k) => ({ name: k.replace('_', ' ').toLowerCase(), data: d.l7.filter((x) => x.kind === k).map((x) => point(x.t, x.avgMs)) })),
  }));
}
