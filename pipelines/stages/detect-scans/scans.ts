/**
 * detect-scans: per endpoint (all of its flows meet in one task, see detect-rekey-flows) and
 * window: port scans and host sweeps (distinct destination ports / addresses it opened flows
 * to), connection failures (share of its connection attempts without a SYN-ACK), and as a
 * destination: SYN floods (SYN rate with mostly half-open flows) and ICMP floods (packet rate).
 *
 * Inter-host flows are seen by two monitors (two copies of a flow window): the additive counts
 * are kept per observation point and the busiest one is used, so nothing is counted twice;
 * distinct sets are idempotent and shared.
 */
import type { IdentifiedFlow } from '../../../schemas/identified-flow';
import type { StreamRecord } from '../../runtime/types';
import { WindowedDetector } from '../../alerting/windowed';
import { label, rolesOf, viewOf, type Endpoint } from '../../alerting/flow-view';
import { settingsFor } from '../../alerting/overrides';
import { fmtNum, fmtPct, sample } from '../../alerting/format';
import type { AlertType } from '../../../schemas/alert';
import type { DetectScansConfig, ScanSettings } from './config';

interface OpCounts {
  attempts: number; failed: number;
  synIn: number; synFlowsIn: number; halfOpenIn: number; icmpIn: number;
}

export interface ScanAcc {
  ep: Endpoint;
  ports: Set<number>;
  addrs: Set<string>;
  /** sources seen towards it (flood evidence), bounded */
  sources: Set<string>;
  ops: Record<string, OpCounts>;
}

const zero = (): OpCounts => ({ attempts: 0, failed: 0, synIn: 0, synFlowsIn: 0, halfOpenIn: 0, icmpIn: 0 });

export class ScansProcessor extends WindowedDetector<IdentifiedFlow, ScanAcc> {
  constructor(private readonly cfg: DetectScansConfig) { super('detect-scans', cfg); }

  protected eventTimeOf(f: IdentifiedFlow): bigint { return BigInt(f.window_start_ns); }

  protected fold(w: bigint, rec: StreamRecord<IdentifiedFlow>): void {
    const key = rec.key ?? '';
    if (!key.startsWith('ep|')) return; // host-pair copies are for detect-capacity
    const v = viewOf(rec.value);
    const { asSrc, asDst } = rolesOf(key, v);
    if (!asSrc && !asDst) { this.ctx.metrics.dropped('key-mismatch'); return; }
    const a = this.acc_(w, key) ?? { ep: asSrc ? v.src : v.dst, ports: new Set(), addrs: new Set(), sources: new Set(), ops: {} };
    const c = a.ops[v.observationPoint] ?? zero();
    const cap = this.cfg.maxTracked;
    const tcp = v.proto === 6;
    if (asSrc) {
      if (v.dst.port !== 0 && (tcp || v.proto === 17) && a.ports.size < cap) a.ports.add(v.dst.port);
      if (a.addrs.size < cap) a.addrs.add(v.dst.addr);
      if (tcp && v.syn > 0) { c.attempts++; if (v.synack === 0) c.failed++; }
    }
    if (asDst) {
      if (tcp && v.syn > 0) {
        c.synIn += v.syn; c.synFlowsIn++;
        // half-open: the client sent nothing but its SYN(s)
        if (v.pktsFwd <= v.syn) c.halfOpenIn++;
      }
      if (v.proto === 1 || v.proto === 58) c.icmpIn += v.pktsFwd;
      if ((tcp && v.syn > 0) || v.proto === 1 || v.proto === 58) if (a.sources.size < 64) a.sources.add(v.src.addr);
    }
    a.ops[v.observationPoint] = c;
    this.putAcc(w, key, a);
  }

  protected evaluate(w: bigint, end: bigint, subjects: Map<string, ScanAcc>): void {
    const secs = Number(end - w) / 1e9;
    for (const a of subjects.values()) {
      const ep = a.ep;
      const s = settingsFor<ScanSettings>(this.cfg.defaults, this.cfg.overrides, ep.tenant, [ep.vm, ep.name, ep.addr]);
      const best = (f: (c: OpCounts) => number) => Math.max(0, ...Object.values(a.ops).map(f));
      const subject = `${ep.tenant ?? '-'}|${ep.id}`;
      const who = label(ep);
      const base = { subject, tenant: ep.tenant };
      const src = { ...base, vm_a: ep.vm, addr_a: ep.addr, host_a: ep.host };
      const dst = { ...base, vm_b: ep.vm, addr_b: ep.addr, host_b: ep.host };
      const sat = (n: number) => (n >= this.cfg.maxTracked ? `>=${n}` : String(n));

      this.check(end, 'port_scan', subject, a.ports.size, s.portScanPorts, s, (sev) => ({ ...src, severity: sev, metric: 'distinct_dst_ports',
        summary: `${who} opened flows to ${sat(a.ports.size)} distinct ports in ${fmtNum(secs)} s (threshold ${s.portScanPorts})`,
        evidence: { ports_sample: sample(a.ports), destinations: sat(a.addrs.size), window_s: fmtNum(secs) } }));
      this.check(end, 'host_sweep', subject, a.addrs.size, s.hostSweepHosts, s, (sev) => ({ ...src, severity: sev, metric: 'distinct_dst_addrs',
        summary: `${who} opened flows to ${sat(a.addrs.size)} distinct addresses in ${fmtNum(secs)} s (threshold ${s.hostSweepHosts})`,
        evidence: { addrs_sample: sample(a.addrs), window_s: fmtNum(secs) } }));

      const attempts = best((c) => c.attempts), failed = best((c) => c.failed);
      const failRatio = attempts > 0 ? failed / attempts : 0;
      const failBreach = attempts >= s.failureMinAttempts ? failRatio : 0;
      this.check(end, 'connection_failures', subject, failBreach, s.failureRatio, s, (sev) => ({ ...src, severity: sev, metric: 'failed_connection_ratio',
        summary: `${who}: ${failed} of ${attempts} connection attempts failed (${fmtPct(failRatio)}) in ${fmtNum(secs)} s`,
        evidence: { attempts: String(attempts), failed: String(failed), window_s: fmtNum(secs) } }), 1);

      const synRate = best((c) => c.synIn) / secs;
      const synFlows = best((c) => c.synFlowsIn), halfOpen = best((c) => c.halfOpenIn);
      const ratio = synFlows > 0 ? halfOpen / synFlows : 0;
      const synValue = ratio >= s.halfOpenRatio * (this.lifecycle.isOpen('syn_flood', subject) ? s.clearRatio : 1) ? synRate : 0;
      this.check(end, 'syn_flood', subject, synValue, s.synFloodSynPerSec, s, (sev) => ({ ...dst, severity: sev, metric: 'syn_per_s',
        summary: `${who} receives ${fmtNum(synRate)} SYN/s, ${fmtPct(ratio)} of the flows half-open (threshold ${s.synFloodSynPerSec}/s)`,
        evidence: { half_open_ratio: fmtNum(ratio), syn_flows: String(synFlows), sources_sample: sample(a.sources), window_s: fmtNum(secs) } }));

      const icmpRate = best((c) => c.icmpIn) / secs;
      this.check(end, 'icmp_flood', subject, icmpRate, s.icmpFloodPps, s, (sev) => ({ ...dst, severity: sev, metric: 'icmp_pps',
        summary: `${who} receives ${fmtNum(icmpRate)} ICMP packets/s (threshold ${s.icmpFloodPps}/s)`,
        evidence: { sources_sample: sample(a.sources), window_s: fmtNum(secs) } }));
    }
  }

  /** Breach when value >= threshold (an open alert: >= clearRatio x threshold); critical at criticalFactor x (capped by maxFactor). */
  private check(end: bigint, type: AlertType, subject: string, value: number, threshold: number, s: ScanSettings,
    build: (sev: 'warning' | 'critical') => Omit<Parameters<typeof this.lifecycle.breach>[1], 'type' | 'value' | 'threshold'>, maxCritical = Infinity): void {
    if (threshold <= 0 && value <= 0) return;
    const limit = this.lifecycle.isOpen(type, subject) ? threshold * s.clearRatio : threshold;
    if (value < limit || value <= 0) return;
    const critical = value >= Math.min(threshold * s.criticalFactor, maxCritical);
    this.lifecycle.breach(end, { ...build(critical ? 'critical' : 'warning'), type, value, threshold });
  }
}
