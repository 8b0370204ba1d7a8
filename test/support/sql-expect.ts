/**
 * Independent answers to the questions of docs/sql.md, computed in JavaScript from the demo
 * records the stages produced (test/support/demo-data.ts) — never from the database — with
 * sketches merged by @datadog/sketches-js. Ranges follow the SQL functions' rule: [from, to)
 * rounded to whole minutes, a window counted where it starts.
 */
import { DDSketch } from '@datadog/sketches-js';
import { sketchFromBins } from '../../pipelines/stages/metrics/sketch';
import type { RttStats } from '../../schemas/flow-metrics';
import type { DemoData } from './demo-data';

type Rec = Record<string, unknown>;
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const ceilTo = (t: number, w: number) => Math.ceil(t / w) * w;
export const floorTo = (t: number, w: number) => Math.floor(t / w) * w;
export const startMs = (r: { window_start_ns: unknown }) => Number(r.window_start_ns) / 1e6;
export const inMinuteRange = (ms: number, from: number, to: number) => ms >= ceilTo(from, MIN) && ms < floorTo(to, MIN);
const bytes = (r: { bytes_ab: unknown; bytes_ba: unknown }) => Number(r.bytes_ab) + Number(r.bytes_ba);

export function topTalkers(d: DemoData, from: number, to: number, n: number): Rec[] {
  const by = new Map<string, { vm: string; name: string; host: string; last: number; sent: number; recv: number }>();
  const add = (vm: string | null, name: string | null, host: string | null, t: number, sent: number, recv: number) => {
    if (!vm) return;
    const e = by.get(vm) ?? { vm, name: name ?? '', host: host ?? '', last: -Infinity, sent: 0, recv: 0 };
    e.sent += sent; e.recv += recv;
    if (t >= e.last) { e.last = t; e.host = host ?? ''; }
    by.set(vm, e);
  };
  for (const f of d.identified) {
    const t = startMs(f);
    if (!inMinuteRange(t, from, to)) continue;
    add(f.a_vm, f.a_name, f.a_host, t, Number(f.bytes_ab), Number(f.bytes_ba));
    add(f.b_vm, f.b_name, f.b_host, t, Number(f.bytes_ba), Number(f.bytes_ab));
  }
  return [...by.values()].sort((a, b) => b.sent + b.recv - (a.sent + a.recv) || (a.vm < b.vm ? -1 : 1)).slice(0, n)
    .map((e, i) => ({ rank: i + 1, vm: e.vm, name: e.name, host: e.host, bytes_sent: e.sent, bytes_received: e.recv, bytes_total: e.sent + e.recv }));
}

function merge(stats: (RttStats | null)[]): DDSketch | null {
  let sk: DDSketch | null = null;
  for (const s of stats) {
    if (!s) continue;
    const one = sketchFromBins(s.sketch);
    if (sk) sk.merge(one); else sk = one;
  }
  return sk;
}

/** pair_latency_loss with the default kinds, p95 > 5 ms. */
export function pairsP95Over(d: DemoData, from: number, to: number, ms: number): Rec[] {
  const groups = new Map<string, { vm_a: string | null; vm_b: string | null; stats: (RttStats | null)[]; n: number }>();
  for (const m of d.metrics) {
    if (!inMinuteRange(startMs(m), from, to)) continue;
    const k = `${m.vm_a}|${m.vm_b}`;
    const g = groups.get(k) ?? { vm_a: m.vm_a, vm_b: m.vm_b, stats: [], n: 0 };
    for (const s of [m.rtt_data_ab, m.rtt_data_ba, m.rtt_icmp_echo]) { g.stats.push(s); if (s) g.n += Number(s.count); }
    groups.set(k, g);
  }
  const out: Rec[] = [];
  for (const g of groups.values()) {
    const sk = merge(g.stats);
    if (!sk) continue;
    const p95 = sk.getValueAtQuantile(0.95) / 1e6;
    if (p95 > ms) out.push({ vm_a: g.vm_a, vm_b: g.vm_b, rtt_samples: g.n, p95_ms: p95 });
  }
  return out.sort((a, b) => (b.p95_ms as number) - (a.p95_ms as number));
}

export function firstSeenPairs(d: DemoData): Map<string, { a: string; b: string; first: number }> {
  const first = new Map<string, { a: string; b: string; first: number }>();
  for (const f of d.identified) {
    if (!f.a_vm || !f.b_vm) continue;
    const k = `${f.a_vm}|${f.b_vm}`;
    const t = Number(f.first_seen_ns) / 1e6;
    const e = first.get(k);
    if (!e || t < e.first) first.set(k, { a: f.a_vm, b: f.b_vm, first: t });
  }
  return first;
}

export function sumBy<T>(items: T[], key: (x: T) => string | null, value: (x: T) => number): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) { const k = key(x); if (k !== null) m.set(k, (m.get(k) ?? 0) + value(x)); }
  return m;
}

export function identifiedIn(d: DemoData, from: number, to: number, raw = false) {
  return d.identified.filter((f) => (raw ? startMs(f) >= from && startMs(f) < to : inMinuteRange(startMs(f), from, to)));
}

export function topology(d: DemoData, from: number, to: number): Map<string, Rec> {
  const m = new Map<string, { cls: string; bytes: number; packets: number; flows: Set<string> }>();
  for (const f of identifiedIn(d, from, to, true)) {
    const k = `${f.a_vm ?? f.addr_a}|${f.b_vm ?? f.addr_b}`;
    const e = m.get(k) ?? { cls: f.traffic_class, bytes: 0, packets: 0, flows: new Set<string>() };
    e.bytes += bytes(f); e.packets += Number(f.packets_ab) + Number(f.packets_ba); e.flows.add(f.flow_key);
    m.set(k, e);
  }
  return new Map([...m].map(([k, e]) => [k, { traffic_class: e.cls, bytes: e.bytes, packets: e.packets, flows: e.flows.size }]));
}

export function headroom(d: DemoData, from: number, to: number): Rec[] {
  const perMin = new Map<string, { vm: string; bucket: number; cap: number; out: number; in: number }>();
  const add = (vm: string | null, cap: unknown, bucket: number, out: number, inb: number) => {
    if (!vm) return;
    const k = `${vm}|${bucket}`;
    const e = perMin.get(k) ?? { vm, bucket, cap: 0, out: 0, in: 0 };
    e.cap = Math.max(e.cap, Number(cap ?? 0)); e.out += out; e.in += inb;
    perMin.set(k, e);
  };
  for (const m of d.metrics) {
    const t = startMs(m);
    if (t < from || t >= to) continue;
    const b = floorTo(t, MIN);
    add(m.vm_a, m.nic_capacity_a_bps, b, Number(m.bytes_ab), Number(m.bytes_ba));
    add(m.vm_b, m.nic_capacity_b_bps, b, Number(m.bytes_ba), Number(m.bytes_ab));
  }
  const best = new Map<string, { vm: string; bucket: number; cap: number; peak: number }>();
  for (const e of [...perMin.values()].sort((a, b) => a.bucket - b.bucket)) {
    const peak = (Math.max(e.out, e.in) * 8) / 60;
    const cur = best.get(e.vm);
    if (!cur || peak > cur.peak) best.set(e.vm, { vm: e.vm, bucket: e.bucket, cap: Math.max(e.cap, cur?.cap ?? 0), peak });
    else cur.cap = Math.max(cur.cap, e.cap);
  }
  return [...best.values()].map((b) => ({ vm: b.vm, nic_capacity_bps: b.cap, busiest_minute: b.bucket, peak_bps: b.peak, utilization: b.peak / b.cap, headroom_bps: b.cap - b.peak }))
    .sort((a, b) => b.utilization - a.utilization || (a.vm < b.vm ? -1 : 1));
}

export function loss(d: DemoData, from: number, to: number): Rec[] {
  const m = new Map<string, { vm_a: string | null; vm_b: string | null; ds: number; rs: number; lb: number }>();
  for (const r of d.metrics) {
    if (!inMinuteRange(startMs(r), from, to)) continue;
    const k = `${r.vm_a}|${r.vm_b}`;
    const e = m.get(k) ?? { vm_a: r.vm_a, vm_b: r.vm_b, ds: 0, rs: 0, lb: 0 };
    for (const t of [r.tcp_ab, r.tcp_ba]) {
      if (!t) continue;
      e.ds += Number(t.data_segments); e.rs += Number(t.retransmitted_segments); e.lb += Number(t.lost_before_mirror_segments);
    }
    m.set(k, e);
  }
  return [...m.values()].filter((e) => e.rs + e.lb > 0)
    .map((e) => ({ vm_a: e.vm_a, vm_b: e.vm_b, data_segments: e.ds, retransmitted_segments: e.rs, lost_before_mirror_segments: e.lb, loss_pct: (100 * (e.rs + e.lb)) / e.ds }))
    .sort((a, b) => b.loss_pct - a.loss_pct);
}

/** Per hour bucket: merged sketch (percentiles) or summed stats of one RTT field of one pair. */
export function hourly(d: DemoData, pair: [string, string], field: 'rtt_data_ab' | 'rtt_icmp_echo', from: number) {
  const byHour = new Map<number, (RttStats | null)[]>();
  for (const m of d.metrics) {
    const ok = field === 'rtt_icmp_echo' ? new Set([m.vm_a, m.vm_b]).has(pair[0]) && new Set([m.vm_a, m.vm_b]).has(pair[1]) : m.vm_a === pair[0] && m.vm_b === pair[1];
    if (!ok || !m[field]) continue;
    const h = floorTo(startMs(m), HOUR);
    if (h < from) continue;
    byHour.set(h, [...(byHour.get(h) ?? []), m[field]]);
  }
  return [...byHour.entries()].sort((a, b) => a[0] - b[0]).map(([h, stats]) => {
    const ss = stats.filter((s): s is RttStats => s !== null);
    const n = ss.reduce((s, x) => s + Number(x.count), 0);
    const sum = ss.reduce((s, x) => s + x.sum_ns, 0);
    const ds = ss.reduce((s, x) => s + x.delta_sum_ns, 0);
    const dc = ss.reduce((s, x) => s + Number(x.delta_count), 0);
    return { bucket: h, n, sketch: merge(ss)!, mean_ms: sum / n / 1e6, jitter_ms: dc > 0 ? ds / dc / 1e6 : null };
  });
}
