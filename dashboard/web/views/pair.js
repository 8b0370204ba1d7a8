// Pair drill-down: everything needed to say where a problem between two VMs is, on one screen.
import { bytes, bps, ms, pct, int, time, esc, HEALTH_COLOURS } from '../fmt.js';
import { timeSeries, filled } from './charts.js';

function card(label, value, sub = '', state = 'unknown') {
  return `<div class="card ${state}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div></div>`;
}

async function picker(root, ctx) {
  const topo = await ctx.api('topology', { from: ctx.range.from, to: ctx.range.to });
  if (ctx.stale()) return;
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
      { name: 'server side (data)', data: filled(d, d.stepSeconds, r, (x) => x.serverMs, null), color: '#d35400' },
      { name: 'client side (data)', data: filled(d, d.stepSeconds, r, (x) => x.clientMs, null), color: '#3b7dd8' },
      { name: 'server side (handshake)', data: filled(d, d.stepSeconds, r, (x) => x.handshakeServerMs, null), color: '#d35400', dashed: true },
      { name: 'client side (handshake)', data: filled(d, d.stepSeconds, r, (x) => x.handshakeClientMs, null), color: '#3b7dd8', dashed: true },
    ],
    markLines: [{ yAxis: ctx.meta.thresholds.rttMs.warning, name: 'warning', lineStyle: { color: HEALTH_COLOURS.warning } }],
  }));
  ctx.chart('pair-percentiles', root.querySelector('#pair-percentiles')).setOption(timeSeries({
    range: d, title: 'RTT percentiles and jitter (end to end)', unit: 'ms', fmt: ms,
    series: [
      { name: 'p50', data: filled(d, d.stepSeconds, r, (x) => x.p50Ms, null) },
      { name: 'p95', data: filled(d, d.stepSeconds, r, (x) => x.p95Ms, null) },
      { name: 'p99', data: filled(d, d.stepSeconds, r, (x) => x.p99Ms, null) },
      { name: 'jitter', data: filled(d, d.stepSeconds, r, (x) => x.jitterMs, null), dashed: true },
    ],
  }));
  ctx.chart('pair-traffic', root.querySelector('#pair-traffic')).setOption(timeSeries({
    range: d, title: 'Throughput', unit: 'bytes/s', fmt: bps, zoom: true,
    series: [
      { name: `${a} → ${b}`, data: filled(d, d.stepSeconds, d.traffic, (x) => x.bpsAB, 0) },
      { name: `${b} → ${a}`, data: filled(d, d.stepSeconds, d.traffic, (x) => x.bpsBA, 0) },
    ],
  }));
  ctx.chart('pair-loss', root.querySelector('#pair-loss')).setOption(timeSeries({
    range: d, title: 'Retransmissions and loss (segments)', unit: 'segments', fmt: int, stack: true, integer: true,
    series: [
      { name: 'retransmitted (after mirror)', type: 'bar', data: filled(d, d.stepSeconds, r, (x) => x.retransmitted, 0), color: '#d64545' },
      { name: 'lost before mirror', type: 'bar', data: filled(d, d.stepSeconds, r, (x) => x.lostBeforeMirror, 0), color: '#e0a100' },
      { name: 'capture loss', type: 'bar', data: filled(d, d.stepSeconds, r, (x) => x.captureLoss, 0), color: '#7b2ff7' },
      { name: 'out of order', type: 'bar', data: filled(d, d.stepSeconds, r, (x) => x.outOfOrder, 0), color: '#9aa3ad' },
    ],
  }));
  ctx.chart('pair-handshake', root.querySelector('#pair-handshake')).setOption(timeSeries({
    range: d, title: 'Connections: attempts, unanswered SYNs, resets', unit: 'count', fmt: int, integer: true,
    series: [
      { name: 'SYN (attempts)', type: 'bar', data: filled(d, d.stepSeconds, d.traffic, (x) => x.syns, 0), color: '#3b7dd8' },
      { name: 'unanswered SYN', type: 'bar', data: filled(d, d.stepSeconds, d.traffic, (x) => x.unansweredSyn, 0), color: '#d64545' },
      { name: 'RST', type: 'bar', data: filled(d, d.stepSeconds, d.traffic, (x) => x.resets, 0), color: '#e0a100' },
    ],
  }));
  const kinds = [...new Set(d.l7.map((x) => x.kind))];
  ctx.chart('pair-l7', root.querySelector('#pair-l7')).setOption(timeSeries({
    range: d, title: kinds.length ? 'Application latency (DNS / HTTP)' : 'Application latency (DNS / HTTP): no answers in range', unit: 'ms', fmt: ms,
    series: kinds.map((k) => ({ name: k.replace('_', ' ').toLowerCase(), data: filled(d, d.stepSeconds, d.l7.filter((x) => x.kind === k), (x) => x.avgMs, null) })),
  }));
}
