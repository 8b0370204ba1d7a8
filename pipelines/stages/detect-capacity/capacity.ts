/**
 * detect-capacity: per VM NIC and per host pair, one history point per window (default 1 h):
 * the peak utilization of its sub-windows (10 s; bits/s in or out over the capacity), then a
 * straight-line fit over the last maxPoints points (pipelines/alerting/forecast.ts) says when
 * the utilization reaches `level`: within `horizonDays` (and with a fit of R² >= minR2) it is
 * a capacity_forecast alert ("at this growth, web-3 reaches 80 % in 12 days"), re-evaluated
 * at every point, resolved after the lifecycle's clear points.
 * VM capacity: `nicCapacityBps`, else the inventory's nic_capacity_bps. Host pairs: the flows
 * keyed `hp|h1|h2` (both directions of the pair), capacity `linkCapacityBps`.
 * Inter-host flows arrive once per monitor: bytes are summed per observation point and the
 * busiest one counts.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { VmInventory } from '../../../schemas/vm-inventory';
import type { GlobalTableView, KeyValueStore, ProcessorContext, StreamRecord } from '../../runtime/types';
import { WindowedDetector } from '../../alerting/windowed';
import { label, rolesOf, viewOf } from '../../alerting/flow-view';
import { settingsFor } from '../../alerting/overrides';
import { daysUntil, fitLine } from '../../alerting/forecast';
import { fmtNum, fmtPct, isoOf } from '../../alerting/format';
import type { CapacitySettings, DetectCapacityConfig } from './config';

export const HISTORY_STORE = 'capacity-history';
export const INVENTORY_TABLE = 'inventory';

export interface CapAcc {
  kind: 'vm' | 'hp';
  id: string; vm: string | null; name: string; addr: string | null; tenant: string | null; hosts: [string | null, string | null];
  /** sub-window start -> observation point -> [out (or h1->h2), in (or h2->h1)] bytes */
  subs: Record<string, Record<string, [number, number]>>;
  peak: number;
}
export interface History { points: [number, number][]; last: bigint }

const OPEN_SUBS = 4;

export class CapacityProcessor extends WindowedDetector<IdentifiedFlow, CapAcc> {
  private inventory!: GlobalTableView<VmInventory>;
  private history!: KeyValueStore<History>;
  private readonly subNs: bigint;

  constructor(private readonly cfg: DetectCapacityConfig) {
    super('detect-capacity', cfg);
    this.subNs = BigInt(cfg.subWindowMs) * 1_000_000n;
  }

  protected override initDetector(ctx: ProcessorContext): void {
    this.inventory = ctx.globalTable<VmInventory>(INVENTORY_TABLE);
    this.history = ctx.store(HISTORY_STORE);
  }

  protected eventTimeOf(f: IdentifiedFlow): bigint { return BigInt(f.window_start_ns); }

  private settingsOf(a: CapAcc): CapacitySettings {
    const subjects = a.kind === 'vm' ? [a.vm, a.name, a.addr] : [`${a.hosts[0]}<->${a.hosts[1]}`];
    return settingsFor<CapacitySettings>(this.cfg.defaults, this.cfg.overrides, a.tenant, subjects);
  }

  private capacityBps(a: CapAcc, s: CapacitySettings): number {
    if (a.kind === 'hp') return s.linkCapacityBps;
    if (s.nicCapacityBps > 0) return s.nicCapacityBps;
    const inv = a.vm ? this.inventory.get(a.vm) : undefined;
    return inv?.nic_capacity_bps ? Number(inv.nic_capacity_bps) : 0;
  }

  protected fold(w: bigint, rec: StreamRecord<IdentifiedFlow>): void {
    const key = rec.key ?? '';
    const v = viewOf(rec.value);
    let a = this.acc_(w, key);
    let dir: [number, number];
    if (key.startsWith('ep|')) {
      const { asSrc, asDst } = rolesOf(key, v);
      if (!asSrc && !asDst) { this.ctx.metrics.dropped('key-mismatch'); return; }
      const ep = asSrc ? v.src : v.dst;
      if (ep.vm === null) return; // capacity is forecast for VM NICs, not for outside addresses
      a ??= { kind: 'vm', id: ep.id, vm: ep.vm, name: label(ep), addr: ep.addr, tenant: ep.tenant, hosts: [ep.host, null], subs: {}, peak: 0 };
      dir = asSrc ? [v.bytesFwd, v.bytesRev] : [v.bytesRev, v.bytesFwd];
    } else if (key.startsWith('hp|')) {
      const [, h1, h2] = key.split('|');
      a ??= { kind: 'hp', id: `${h1}<->${h2}`, vm: null, name: `${h1}<->${h2}`, addr: null, tenant: null, hosts: [h1, h2], subs: {}, peak: 0 };
      dir = v.src.host === h1 ? [v.bytesFwd, v.bytesRev] : [v.bytesRev, v.bytesFwd];
    } else return;
    const sub = String(v.windowStart - (v.windowStart % this.subNs));
    const ops = a.subs[sub] ?? {};
    const o = ops[v.observationPoint] ?? [0, 0];
    o[0] += dir[0]; o[1] += dir[1];
    ops[v.observationPoint] = o;
    a.subs[sub] = ops;
    const keys = Object.keys(a.subs).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    // only the last few sub-windows can still grow: fold older ones into the peak (bounded state)
    for (const k of keys.slice(0, Math.max(0, keys.length - OPEN_SUBS))) this.foldSub(a, k);
    this.putAcc(w, key, a);
  }

  private foldSub(a: CapAcc, k: string): void {
    const s = this.settingsOf(a);
    const cap = this.capacityBps(a, s);
    const secs = this.cfg.subWindowMs / 1000;
    const bytes = Math.max(0, ...Object.values(a.subs[k]).map(([x, y]) => Math.max(x, y)));
    if (cap > 0) a.peak = Math.max(a.peak, (bytes * 8) / secs / cap);
    delete a.subs[k];
  }

  protected evaluate(w: bigint, end: bigint, subjects: Map<string, CapAcc>): void {
    for (const [key, a] of subjects) {
      const s = this.settingsOf(a);
      if ((a.kind === 'vm' && !s.vms) || (a.kind === 'hp' && !s.hostPairs)) continue;
      if (this.capacityBps(a, s) <= 0) { this.ctx.metrics.dropped('capacity-unknown'); continue; }
      for (const k of Object.keys(a.subs)) this.foldSub(a, k);
      const h = this.history.get(key) ?? { points: [], last: 0n };
      const points = [...h.points, [Number(w), a.peak] as [number, number]].slice(-this.cfg.maxPoints);
      this.history.put(key, { points, last: end });
      if (points.length < s.minPoints) continue;
      const fit = fitLine(points);
      if (!fit || fit.r2 < s.minR2) continue;
      const days = daysUntil(fit, s.level);
      if (days === null || days > s.horizonDays) continue;
      const at = BigInt(Math.round(fit.lastT + days * 86_400e9));
      const when = days === 0 ? 'is already at' : `reaches ${fmtPct(s.level)} in ${fmtNum(days, 2)} days (${isoOf(at).slice(0, 10)})`;
      const ids = a.kind === 'vm' ? { tenant: a.tenant, vm_a: a.vm, addr_a: a.addr, host_a: a.hosts[0] } : { host_a: a.hosts[0], host_b: a.hosts[1] };
      this.lifecycle.breach(end, { ...ids, type: 'capacity_forecast', subject: `${a.kind}|${a.tenant ?? '-'}|${a.id}`,
        metric: a.kind === 'vm' ? 'nic_peak_utilization' : 'host_pair_peak_utilization', value: days, baseline: fit.fittedLast, threshold: s.horizonDays,
        severity: days <= s.horizonDays / 4 ? 'critical' : 'warning',
        summary: `at this growth, ${a.kind === 'vm' ? a.name : `host pair ${a.name}`} ${when === 'is already at' ? `is already at ${fmtPct(s.level)}` : when}`,
        evidence: { crossing_date: isoOf(at), days_until: fmtNum(days, 3), slope_per_day: fmtNum(fit.slopePerDay, 4), level: String(s.level),
          current_fitted: fmtNum(fit.fittedLast, 4), current_peak: fmtNum(a.peak, 4), r2: fmtNum(fit.r2, 3), points: String(fit.n),
          capacity_bps: String(this.capacityBps(a, s)) } });
    }
  }

  protected override afterWindow(end: bigint): void {
    const cutoff = end - BigInt(this.cfg.idleTtlMs) * 1_000_000n;
    let n = 0;
    for (const [k, h] of [...this.history.entries()]) if (h.last < cutoff) { this.history.delete(k); n++; }
    if (n) this.ctx.metrics.dropped('evicted-idle', n);
  }
}
