/**
 * detect-thresholds: limits on the performance metrics of flow-metrics windows, repartitioned
 * by endpoint (detect-rekey-metrics): per pair (client -> server, evaluated in the client's
 * task) average / maximum RTT, ΔRTT (average RTT above the pair's own RTT baseline), jitter,
 * average / maximum loss rate against an acceptable loss; per VM the NIC utilization (in or
 * out). Each (kind, subject) is its own alert: rtt_threshold|tenant|a->b|avg, ...|max, ...|delta.
 *
 * RTT of a flow window: the mirror sees mirror -> B -> mirror (rtt_data_ab) and mirror -> A ->
 * mirror (rtt_data_ba); their sum is the end-to-end RTT wherever the mirror sits (max: the sum
 * of the maxima, an upper bound). A flow with one direction only, or ICMP echo, uses what it has.
 */
import type { FlowMetrics, RttStats, TcpDirection } from '../../../schemas/flow-metrics';
import type { VmInventory } from '../../../schemas/vm-inventory';
import type { AlertType } from '../../../schemas/alert';
import type { GlobalTableView, KeyValueStore, ProcessorContext, StreamRecord } from '../../runtime/types';
import { WindowedDetector } from '../../alerting/windowed';
import { settingsFor } from '../../alerting/overrides';
import { learn, newBaseline, type Baseline } from '../../alerting/baseline';
import { fmtMs, fmtNum, fmtPct } from '../../alerting/format';
import type { Breach } from '../../alerting/lifecycle';
import { metricsEndpointKey } from '../detect-rekey-metrics';
import type { DetectThresholdsConfig, ThresholdSettings } from './config';

export const RTT_BASELINES_STORE = 'thresholds-rtt-baselines';
export const INVENTORY_TABLE = 'inventory';

interface Info { id: string; vm: string | null; addr: string; name: string | null; host: string | null; tenant: string | null }
interface PairAcc {
  kind: 'pair'; client: Info; server: Info;
  rttSum: number; rttCount: number; rttMax: number; deltaSum: number; deltaCount: number;
  lost: number; segments: number; lossMax: number; lossMaxSegments: number; flows: number;
}
interface VmAcc { kind: 'vm'; info: Info; ops: Record<string, { out: number; in: number }> }
export type ThresholdAcc = PairAcc | VmAcc;

const n = (x: bigint | number | null | undefined): number => (x === null || x === undefined ? 0 : Number(x));
const MS = 1e6;

function clientIsA(m: FlowMetrics): boolean {
  if (m.client_is_a !== null) return m.client_is_a;
  const a = m.port_a, b = m.port_b;
  if (a === 0 || b === 0) return false;
  if ((a < 1024) !== (b < 1024)) return b < 1024;
  return a > b;
}

export class ThresholdsProcessor extends WindowedDetector<FlowMetrics, ThresholdAcc> {
  private inventory!: GlobalTableView<VmInventory>;
  private rttBase!: KeyValueStore<Baseline>;

  constructor(private readonly cfg: DetectThresholdsConfig) { super('detect-thresholds', cfg); }

  protected override initDetector(ctx: ProcessorContext): void {
    this.inventory = ctx.globalTable<VmInventory>(INVENTORY_TABLE);
    this.rttBase = ctx.store(RTT_BASELINES_STORE);
  }

  protected eventTimeOf(m: FlowMetrics): bigint { return BigInt(m.window_start_ns); }

  private info(vm: string | null, addr: string, ts: bigint): Info {
    const inv = this.inventory.lookup(`ip:${addr}`, ts)?.value;
    return { id: vm ?? `ip:${addr}`, vm, addr, name: inv?.name ?? null, host: inv?.host ?? null, tenant: inv?.tenant ?? null };
  }

  protected fold(w: bigint, rec: StreamRecord<FlowMetrics>): void {
    const m = rec.value;
    const key = rec.key ?? '';
    const ts = BigInt(m.first_seen_ns);
    const keyA = metricsEndpointKey(m.vm_a, m.addr_a), keyB = metricsEndpointKey(m.vm_b, m.addr_b);
    if (key !== keyA && key !== keyB) { this.ctx.metrics.dropped('key-mismatch'); return; }
    const aClient = clientIsA(m);
    if (key === (aClient ? keyA : keyB)) this.foldPair(w, m, aClient, ts);
    for (const [k, isA] of [[keyA, true], [keyB, false]] as const) {
      if (k !== key || (isA === false && keyA === keyB)) continue;
      const out = isA ? m.utilization_a_out : m.utilization_b_out, inn = isA ? m.utilization_a_in : m.utilization_b_in;
      if (out === null && inn === null) continue;
      const sk = `v|${key}`;
      const a = (this.acc_(w, sk) as VmAcc | undefined) ?? { kind: 'vm', info: isA ? this.info(m.vm_a, m.addr_a, ts) : this.info(m.vm_b, m.addr_b, ts), ops: {} };
      const o = a.ops[m.observation_point] ?? { out: 0, in: 0 };
      // utilization is the mean over the flow window: weighted by its share of the evaluation
      // window, so consecutive flow windows average (and concurrent flows still add up)
      const share = Math.min(1, Math.max(0, Number(BigInt(m.window_end_ns) - BigInt(m.window_start_ns)) / Number(this.windowNs)));
      o.out += (out ?? 0) * share; o.in += (inn ?? 0) * share;
      a.ops[m.observation_point] = o;
      this.putAcc(w, sk, a);
    }
  }

  private foldPair(w: bigint, m: FlowMetrics, aClient: boolean, ts: bigint): void {
    const A = this.info(m.vm_a, m.addr_a, ts), B = this.info(m.vm_b, m.addr_b, ts);
    const [client, server] = aClient ? [A, B] : [B, A];
    const sk = `p|${client.id}->${server.id}`;
    const a = (this.acc_(w, sk) as PairAcc | undefined) ?? { kind: 'pair', client, server, rttSum: 0, rttCount: 0, rttMax: 0, deltaSum: 0, deltaCount: 0, lost: 0, segments: 0, lossMax: 0, lossMaxSegments: 0, flows: 0 };
    a.flows++;
    const ok = (r: RttStats | null): r is RttStats => r !== null && n(r.count) > 0;
    const [ab, ba] = [m.rtt_data_ab, m.rtt_data_ba];
    if (ok(ab) && ok(ba)) {
      const c = Math.min(n(ab.count), n(ba.count));
      a.rttSum += (ab.mean_ns + ba.mean_ns) * c; a.rttCount += c; a.rttMax = Math.max(a.rttMax, n(ab.max_ns) + n(ba.max_ns));
    } else {
      for (const r of [ab, ba, m.rtt_icmp_echo]) if (ok(r)) { a.rttSum += r.sum_ns; a.rttCount += n(r.count); a.rttMax = Math.max(a.rttMax, n(r.max_ns)); }
    }
    for (const r of [ab, ba, m.rtt_icmp_echo]) if (r) { a.deltaSum += r.delta_sum_ns; a.deltaCount += n(r.delta_count); }
    for (const d of [m.tcp_ab, m.tcp_ba] as (TcpDirection | null)[]) {
      if (!d) continue;
      const seg = n(d.data_segments);
      const lost = Math.max(0, n(d.retransmitted_segments) + n(d.lost_before_mirror_segments) - n(d.spurious_retransmissions));
      a.lost += lost; a.segments += seg;
      if (seg > 0 && lost / seg > a.lossMax) { a.lossMax = lost / seg; a.lossMaxSegments = seg; }
    }
    this.putAcc(w, sk, a);
  }

  protected evaluate(w: bigint, end: bigint, subjects: Map<string, ThresholdAcc>): void {
    const secs = Number(end - w) / 1e9;
    for (const a of subjects.values()) {
      if (a.kind === 'vm') { this.evalVm(end, a, secs); continue; }
      const { client: c, server: sv } = a;
      const pairName = `${c.vm ?? c.addr}->${sv.vm ?? sv.addr}`;
      const s = settingsFor<ThresholdSettings>(this.cfg.defaults, this.cfg.overrides, c.tenant, [pairName, c.vm, c.name, c.addr]);
      const subj = `${c.tenant ?? '-'}|${c.id}->${sv.id}`;
      const ids = { tenant: c.tenant, vm_a: c.vm, addr_a: c.addr, host_a: c.host, vm_b: sv.vm, addr_b: sv.addr, host_b: sv.host };
      const who = `${c.name ?? c.vm ?? c.addr} -> ${sv.name ?? sv.vm ?? sv.addr}`;
      const win = { window_s: fmtNum(secs), flows: String(a.flows) };
      if (a.rttCount >= s.minRttSamples) {
        const avg = a.rttSum / a.rttCount;
        this.check(end, 'rtt_threshold', `${subj}|avg`, avg / MS, s.rttAvgMs, s, { ...ids, metric: 'rtt_avg_ms',
          summary: `${who}: average RTT ${fmtMs(avg)} (limit ${s.rttAvgMs} ms)`, evidence: { ...win, samples: String(a.rttCount) } });
        this.check(end, 'rtt_threshold', `${subj}|max`, a.rttMax / MS, s.rttMaxMs, s, { ...ids, metric: 'rtt_max_ms',
          summary: `${who}: maximum RTT ${fmtMs(a.rttMax)} (limit ${s.rttMaxMs} ms)`, evidence: { ...win, samples: String(a.rttCount) } });
        this.deltaRtt(end, `${subj}`, avg, s, ids, who, win);
      }
      if (a.deltaCount >= s.minRttSamples) {
        const j = a.deltaSum / a.deltaCount;
        this.check(end, 'jitter_threshold', subj, j / MS, s.jitterMs, s, { ...ids, metric: 'jitter_ms',
          summary: `${who}: jitter ${fmtMs(j)} (limit ${s.jitterMs} ms)`, evidence: { ...win, rtt_deltas: String(a.deltaCount) } });
      }
      if (a.segments >= s.minSegments) {
        const loss = a.lost / a.segments;
        this.check(end, 'loss_threshold', `${subj}|avg`, loss, s.lossAvg, s, { ...ids, metric: 'loss_rate_avg',
          summary: `${who}: loss ${fmtPct(loss)} of ${a.segments} segments (acceptable ${fmtPct(s.lossAvg)})`,
          evidence: { ...win, lost_segments: String(a.lost), data_segments: String(a.segments) } });
      }
      if (a.lossMaxSegments >= s.minSegments) {
        this.check(end, 'loss_threshold', `${subj}|max`, a.lossMax, s.lossMax, s, { ...ids, metric: 'loss_rate_max',
          summary: `${who}: worst flow direction lost ${fmtPct(a.lossMax)} (limit ${fmtPct(s.lossMax)})`,
          evidence: { ...win, data_segments_of_worst: String(a.lossMaxSegments) } });
      }
    }
  }

  private deltaRtt(end: bigint, subj: string, avg: number, s: ThresholdSettings, ids: Partial<Breach>, who: string, win: Record<string, string>): void {
    const series = `rtt|${subj}`;
    let b = this.rttBase.get(series);
    if (!b) {
      if (this.rttBase.size >= this.cfg.maxSeries) { this.ctx.metrics.dropped('series-cap'); return; }
      b = newBaseline();
    } else b = { ...b };
    const params = { alpha: this.cfg.rttBaseline.alpha, clip: 3, warmupWindows: this.cfg.rttBaseline.warmupWindows, minScale: s.deltaRttMs * MS / 3 };
    if (b.n >= params.warmupWindows) {
      const delta = avg - b.level;
      this.check(end, 'rtt_threshold', `${subj}|delta`, delta / MS, s.deltaRttMs, s, { ...ids, metric: 'delta_rtt_ms', baseline: b.level / MS,
        summary: `${who}: RTT ${fmtMs(avg)} is ${fmtMs(delta)} above its baseline ${fmtMs(b.level)} (limit +${s.deltaRttMs} ms)`,
        evidence: { ...win, windows_learned: String(b.n) } });
    }
    learn(b, avg, params);
    b.last = end;
    this.rttBase.put(series, b);
  }

  private evalVm(end: bigint, a: VmAcc, secs: number): void {
    const i = a.info;
    const s = settingsFor<ThresholdSettings>(this.cfg.defaults, this.cfg.overrides, i.tenant, [i.vm, i.name, i.addr]);
    const ops = Object.values(a.ops);
    const out = Math.max(0, ...ops.map((o) => o.out)), inn = Math.max(0, ...ops.map((o) => o.in));
    const u = Math.max(out, inn);
    this.check(end, 'utilization_threshold', `${i.tenant ?? '-'}|${i.id}`, u, s.utilization, s, {
      tenant: i.tenant, vm_a: i.vm, addr_a: i.addr, host_a: i.host, metric: 'nic_utilization',
      summary: `${i.name ?? i.vm ?? i.addr}: NIC ${out >= inn ? 'out' : 'in'} at ${fmtPct(u)} of its capacity (limit ${fmtPct(s.utilization)})`,
      evidence: { utilization_out: fmtNum(out), utilization_in: fmtNum(inn), window_s: fmtNum(secs) } });
  }

  private check(end: bigint, type: AlertType, subject: string, value: number, threshold: number, s: ThresholdSettings,
    b: Omit<Breach, 'type' | 'subject' | 'value' | 'threshold' | 'severity'>): void {
    if (threshold <= 0) return; // 0 = this limit is off
    const limit = this.lifecycle.isOpen(type, subject) ? threshold * s.clearRatio : threshold;
    if (!(value >= limit)) return;
    this.lifecycle.breach(end, { ...b, type, subject, value, threshold, severity: value >= threshold * s.criticalFactor ? 'critical' : 'warning' });
  }

  protected override afterWindow(end: bigint): void {
    if ((end / this.windowNs) % 360n !== 0n) return;
    const cutoff = end - BigInt(this.cfg.idleTtlMs) * 1_000_000n;
    let k = 0;
    for (const [key, b] of [...this.rttBase.entries()]) if (b.last < cutoff) { this.rttBase.delete(key); k++; }
    if (k) this.ctx.metrics.dropped('evicted-idle', k);
  }
}
