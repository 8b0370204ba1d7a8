/**
 * detect-traffic: traffic bursts per VM and per VM pair against a robust baseline, and new
 * communication pairs, from identified flows keyed by endpoint (detect-rekey-flows): a VM's
 * flows in both directions meet in its task, a pair's in its client's (src) task.
 *
 * - Burst: a window's bytes/s (both directions) above baseline + sensitivity x scale and above
 *   minBytesPerSec, once the series has learned warmupWindows windows (README.md: why EWMA +
 *   EW-MAD and not Holt-Winters). Inter-host flows arrive twice (one copy per monitor): bytes
 *   are summed per observation point and the busiest point counts.
 * - New pair: a (tenant, src VM, dst VM) never seen, after the source's learning period.
 *   Pairs are VM ids, so a VM that migrated (same id, another host) is not a new pair.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { KeyValueStore, ProcessorContext, StreamRecord } from '../../runtime/types';
import { WindowedDetector } from '../../alerting/windowed';
import { label, rolesOf, viewOf, type Endpoint } from '../../alerting/flow-view';
import { settingsFor } from '../../alerting/overrides';
import { learnWindow, newBaseline, scaleOf, fillGap, type Baseline, type BaselineParams } from '../../alerting/baseline';
import { fmtNum, fmtRate, isoOf } from '../../alerting/format';
import type { DetectTrafficConfig, TrafficSettings } from './config';

export const BASELINES_STORE = 'traffic-baselines';
export const PAIRS_STORE = 'traffic-pairs';
export const SOURCES_STORE = 'traffic-sources';
/** Known pair / source: first and last window seen (ns). */
export interface Seen { first: bigint; last: bigint }

interface PairAcc { dst: Endpoint; ops: Record<string, number>; dstPort: number; proto: number }
export interface TrafficAcc { ep: Endpoint; ops: Record<string, number>; pairs: Record<string, PairAcc> }

const MAX_PAIRS_PER_WINDOW = 4096;
const EVICT_EVERY_WINDOWS = 360n;

const busiest = (ops: Record<string, number>): number => Math.max(0, ...Object.values(ops));

export class TrafficProcessor extends WindowedDetector<IdentifiedFlow, TrafficAcc> {
  private baselines!: KeyValueStore<Baseline>;
  private pairs!: KeyValueStore<Seen>;
  private sources!: KeyValueStore<Seen>;
  private readonly params: BaselineParams;

  constructor(private readonly cfg: DetectTrafficConfig) {
    super('detect-traffic', cfg);
    this.params = { ...cfg.baseline, minScale: cfg.defaults.minScaleBytesPerSec };
  }

  protected override initDetector(ctx: ProcessorContext): void {
    this.baselines = ctx.store(BASELINES_STORE);
    this.pairs = ctx.store(PAIRS_STORE);
    this.sources = ctx.store(SOURCES_STORE);
  }

  protected eventTimeOf(f: IdentifiedFlow): bigint { return BigInt(f.window_start_ns); }

  protected fold(w: bigint, rec: StreamRecord<IdentifiedFlow>): void {
    const key = rec.key ?? '';
    if (!key.startsWith('ep|')) return;
    const v = viewOf(rec.value);
    const { asSrc, asDst } = rolesOf(key, v);
    if (!asSrc && !asDst) { this.ctx.metrics.dropped('key-mismatch'); return; }
    const ep = asSrc ? v.src : v.dst;
    const a = this.acc_(w, key) ?? { ep, ops: {}, pairs: {} };
    const bytes = v.bytesFwd + v.bytesRev;
    a.ops[v.observationPoint] = (a.ops[v.observationPoint] ?? 0) + bytes;
    const pairOk = this.cfg.externalPairs ? v.src.vm !== null || v.dst.vm !== null : v.src.vm !== null && v.dst.vm !== null;
    if (asSrc && pairOk) {
      let p = a.pairs[v.dst.id];
      if (!p && Object.keys(a.pairs).length >= MAX_PAIRS_PER_WINDOW) this.ctx.metrics.dropped('pairs-per-window-cap');
      else {
        p ??= { dst: v.dst, ops: {}, dstPort: v.dst.port, proto: v.proto };
        p.ops[v.observationPoint] = (p.ops[v.observationPoint] ?? 0) + bytes;
        a.pairs[v.dst.id] = p;
      }
    }
    this.putAcc(w, key, a);
  }

  protected evaluate(w: bigint, end: bigint, subjects: Map<string, TrafficAcc>): void {
    const secs = Number(end - w) / 1e9;
    for (const [key, a] of subjects) {
      const ep = a.ep;
      const tenant = ep.tenant;
      if (ep.vm !== null) {
        const s = settingsFor<TrafficSettings>(this.cfg.defaults, this.cfg.overrides, tenant, [ep.vm, ep.name, ep.addr]);
        this.burst(`vm|${key}`, w, end, busiest(a.ops) / secs, s, {
          subject: `${tenant ?? '-'}|${ep.id}`, tenant, vm_a: ep.vm, addr_a: ep.addr, host_a: ep.host, who: label(ep) });
      }
      const pairs = Object.values(a.pairs);
      if (pairs.length === 0) continue;
      this.touchSource(key, w);
      for (const p of pairs) {
        const pairName = `${ep.vm ?? ep.addr}->${p.dst.vm ?? p.dst.addr}`;
        const s = settingsFor<TrafficSettings>(this.cfg.defaults, this.cfg.overrides, tenant, [ep.vm, ep.name, ep.addr, pairName]);
        const info = { subject: `${tenant ?? '-'}|${ep.id}->${p.dst.id}`, tenant, vm_a: ep.vm, addr_a: ep.addr, host_a: ep.host,
          vm_b: p.dst.vm, addr_b: p.dst.addr, host_b: p.dst.host, who: `${label(ep)} -> ${label(p.dst)}` };
        this.burst(`pair|${tenant ?? '-'}|${ep.id}->${p.dst.id}`, w, end, busiest(p.ops) / secs, s, info);
        this.newPair(key, `${tenant ?? '-'}|${ep.id}->${p.dst.id}`, w, end, s, info, p);
      }
    }
  }

  private burst(series: string, w: bigint, end: bigint, x: number, s: TrafficSettings,
    info: { subject: string; who: string } & Record<string, string | null>): void {
    if (!s.bursts) return;
    let b = this.baselines.get(series);
    if (!b) {
      if (this.baselines.size >= this.cfg.maxSeries) { this.ctx.metrics.dropped('series-cap'); return; }
      b = newBaseline();
    } else b = { ...b };
    fillGap(b, w, this.windowNs, this.params);
    if (b.n >= this.cfg.baseline.warmupWindows) {
      const scale = scaleOf(b, { ...this.params, minScale: s.minScaleBytesPerSec });
      const open = this.lifecycle.isOpen('traffic_burst', info.subject);
      const limit = b.level + (open ? s.clearRatio : 1) * s.sensitivity * scale;
      if (x > limit && x >= s.minBytesPerSec) {
        const { subject, who, ...ids } = info;
        const factor = b.level > 0 ? x / b.level : Infinity;
        this.lifecycle.breach(end, {
          ...ids, type: 'traffic_burst', subject, metric: 'bytes_per_s', value: x, baseline: b.level, threshold: b.level + s.sensitivity * scale,
          severity: x > b.level + s.criticalSensitivity * scale ? 'critical' : 'warning',
          summary: `${who}: ${fmtRate(x)}, baseline ${fmtRate(b.level)}${Number.isFinite(factor) ? ` (${fmtNum(factor, 2)}x)` : ''}`,
          evidence: { scale_bytes_per_s: fmtNum(scale), sigmas: fmtNum((x - b.level) / scale), windows_learned: String(b.n), series: series.split('|')[0] },
        });
      }
    }
    learnWindow(b, w, this.windowNs, x, this.params); // the gap was filled above (fillGap learns it once)
    this.baselines.put(series, b);
  }

  private touchSource(key: string, w: bigint): void {
    const s = this.sources.get(key);
    if (!s) {
      if (this.sources.size >= this.cfg.maxSeries) { this.ctx.metrics.dropped('series-cap'); return; }
      this.sources.put(key, { first: w, last: w });
    } else if (w - s.last >= this.touchEveryNs()) this.sources.put(key, { ...s, last: w });
  }

  /** Last-seen stamps only need the TTL's precision: rewriting them every window would fill the changelog. */
  private touchEveryNs(): bigint { return BigInt(this.cfg.idleTtlMs) * 1_000_000n / 100n; }

  private newPair(srcKey: string, pairKey: string, w: bigint, end: bigint, s: TrafficSettings,
    info: { subject: string; who: string } & Record<string, string | null>, p: PairAcc): void {
    const known = this.pairs.get(pairKey);
    if (known) {
      if (w - known.last >= this.touchEveryNs()) this.pairs.put(pairKey, { ...known, last: w });
      return;
    }
    if (this.pairs.size >= this.cfg.maxSeries) { this.ctx.metrics.dropped('series-cap'); return; }
    this.pairs.put(pairKey, { first: w, last: w });
    const src = this.sources.get(srcKey);
    const learningUntil = (src?.first ?? w) + BigInt(s.newPairLearningMs) * 1_000_000n;
    if (!s.newPairs || w < learningUntil) return;
    const { subject, who, ...ids } = info;
    this.lifecycle.breach(end, {
      ...ids, type: 'new_pair', subject, severity: s.newPairSeverity, metric: 'bytes_per_s', value: busiest(p.ops) / (Number(end - w) / 1e9),
      summary: `new pair ${who} (${p.proto === 6 ? 'tcp' : p.proto === 17 ? 'udp' : `proto ${p.proto}`}/${p.dstPort}), first seen ${isoOf(w)}`,
      evidence: { first_seen: isoOf(w), dst_port: String(p.dstPort), ip_proto: String(p.proto), source_known_since: isoOf(src?.first ?? w) },
    });
  }

  protected override afterWindow(end: bigint): void {
    if ((end / this.windowNs) % EVICT_EVERY_WINDOWS !== 0n) return;
    const cutoff = end - BigInt(this.cfg.idleTtlMs) * 1_000_000n;
    let n = 0;
    for (const [k, b] of [...this.baselines.entries()]) if (b.last < cutoff) { this.baselines.delete(k); n++; }
    for (const st of [this.pairs, this.sources]) for (const [k, s] of [...st.entries()]) if (s.last < cutoff) { st.delete(k); n++; }
    if (n) this.ctx.metrics.dropped('evicted-idle', n);
  }
}
