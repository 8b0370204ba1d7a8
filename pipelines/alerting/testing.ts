/**
 * Test helpers for the detector stages (used by their *.test.ts only): identified flow windows
 * between named VMs, and a chain that runs the repartition stage and a detector on the
 * in-memory driver with several partitions, exactly as the topics connect them.
 */
import type { Alert } from '../../schemas/alert';
import type { IdentifiedFlow } from '../../schemas/identified-flow';
import type { FlowMetrics, RttStats, TcpDirection } from '../../schemas/flow-metrics';
import type { VmInventory } from '../../schemas/vm-inventory';
import type { StageDefinition } from '../runtime/types';
import { TopologyTestDriver } from '../runtime/test-driver';

export const S = 1_000_000_000n;

export interface VmRef { vm: string | null; addr: string; host: string | null; tenant: string | null }

export const vmRef = (vm: string, addr: string, host = 'h1', tenant: string | null = 'acme'): VmRef => ({ vm, addr, host, tenant });
export const ext = (addr: string): VmRef => ({ vm: null, addr, host: null, tenant: null });

/** A flow window from client c:cport to service s:sport (A/B ordered as the flow key does). */
export function iflow(c: VmRef, cport: number, s: VmRef, sport: number, windowSec: number, x: Partial<{
  proto: number; pktsFwd: number; pktsRev: number; bytesFwd: number; bytesRev: number; syn: number; synack: number; rst: number; op: string; windowLen: number;
}> = {}): IdentifiedFlow {
  const len = BigInt(x.windowLen ?? 10);
  const w = BigInt(windowSec) * S;
  const cIsA = c.addr < s.addr || (c.addr === s.addr && cport <= sport);
  const [A, pa, B, pb] = cIsA ? [c, cport, s, sport] : [s, sport, c, cport];
  const fwdP = BigInt(x.pktsFwd ?? 10), revP = BigInt(x.pktsRev ?? 8), fwdB = BigInt(x.bytesFwd ?? 1000), revB = BigInt(x.bytesRev ?? 4000);
  const proto = x.proto ?? 6;
  const host = (r: VmRef) => r.host;
  const cls = !A.vm || !B.vm ? 'external' : host(A) === host(B) ? 'intra_host' : 'inter_host';
  return {
    window_start_ns: w, window_end_ns: w + len * S, flow_key: `${proto}|${A.addr}|${pa}|${B.addr}|${pb}`, ip_proto: proto,
    addr_a: A.addr, port_a: pa, addr_b: B.addr, port_b: pb,
    packets_ab: cIsA ? fwdP : revP, bytes_ab: cIsA ? fwdB : revB, packets_ba: cIsA ? revP : fwdP, bytes_ba: cIsA ? revB : fwdB,
    syn_count: BigInt(x.syn ?? 0), synack_count: BigInt(x.synack ?? 0), fin_count: 0n, rst_count: BigInt(x.rst ?? 0), zero_window_count: 0n, malformed_count: 0n,
    first_seen_ns: w, last_seen_ns: w + S, observation_point: x.op ?? 'mon:h1',
    observed_host: null,
    a_vm: A.vm, a_name: A.vm, a_host: A.host, a_tenant: A.tenant,
    b_vm: B.vm, b_name: B.vm, b_host: B.host, b_tenant: B.tenant, traffic_class: cls,
  };
}

/** Repartition stage + detector on the driver, `partitions` tasks each, connected like their topics. */
export class Chain<V> {
  readonly rekey: TopologyTestDriver<V>;
  readonly detector: TopologyTestDriver<V>;

  constructor(rekeyDef: StageDefinition<V>, detectorDef: StageDefinition<V>, private readonly partitions = 4) {
    this.rekey = new TopologyTestDriver(rekeyDef, partitions);
    this.detector = new TopologyTestDriver(detectorDef, partitions);
  }

  push(v: V, key: string | null = null): void {
    this.rekey.pipeInput(key, v);
    const topic = Object.keys(this.rekey.def.outputs)[0];
    for (const o of this.rekey.readOutput<V>(topic)) this.detector.pipeInput(o.key, o.value);
  }

  /**
   * Advances every detector task's stream time to `sec` (a record that belongs to no subject
   * the test looks at, one per partition), so windows close as they would with steady traffic.
   */
  tick(sec: number, make: (p: number, sec: number) => V): void {
    for (let p = 0; p < this.partitions; p++) this.detector.pipeInput(`tick|${p}`, make(p, sec), p);
  }

  end(): void { this.detector.endOfStream(); }

  alerts(): Alert[] {
    const topic = Object.keys(this.detector.def.outputs)[0];
    return this.detector.readOutput<Alert>(topic).map((o) => { if (o.key !== o.value.dedup_key) throw new Error('alert not keyed by dedup_key'); return o.value; });
  }
}

/** `type state` per alert, for compact lifecycle assertions. */
export const states = (as: Alert[]): string[] => as.map((a) => `${a.type} ${a.state}`);

export function inventoryVm(v: VmRef, name = v.vm!, nicBps = 1_000_000_000): VmInventory {
  return { vm_id: v.vm!, name, macs: [], ips: [v.addr], host: v.host ?? 'h1', tenant: v.tenant, project: null, subnet: null,
    nic_capacity_bps: BigInt(nicBps), valid_from_ns: 0n };
}

export function rttStats(meanMs: number, count = 10, maxMs = meanMs * 1.5, deltaMs = meanMs * 0.1): RttStats {
  const mean = meanMs * 1e6;
  return { count: BigInt(count), sum_ns: mean * count, mean_ns: mean, min_ns: BigInt(Math.round(mean * 0.5)), max_ns: BigInt(Math.round(maxMs * 1e6)),
    p50_ns: mean, p95_ns: mean, p99_ns: mean, jitter_ns: deltaMs * 1e6, delta_sum_ns: deltaMs * 1e6 * (count - 1), delta_count: BigInt(count - 1),
    sketch: { relative_accuracy: 0.01, gamma: 1.02, zero_count: 0, keys: [], counts: [] } };
}

export function tcpDir(segments: number, lost: number): TcpDirection {
  return { data_segments: BigInt(segments), data_bytes: BigInt(segments * 1400), retransmitted_segments: BigInt(lost), retransmitted_bytes: BigInt(lost * 1400),
    lost_before_mirror_segments: 0n, out_of_order_segments: 0n, retransmission_rate: segments ? lost / segments : 0, dup_acks: 0n, zero_windows: 0n,
    zero_window_probes: 0n, rtt_ambiguous: 0n, rtt_untracked_segments: 0n, acked_unseen_gaps: 0n, spurious_retransmissions: 0n };
}

/**
 * A flow-metrics window from client c:cport to server s:sport; rttMs is the end-to-end RTT
 * (split evenly over the two mirror -> endpoint -> mirror halves).
 */
export function fmetrics(c: VmRef, cport: number, s: VmRef, sport: number, windowSec: number, x: Partial<{
  rttMs: number; rttMaxMs: number; segments: number; lost: number; utilClientOut: number; utilServerOut: number; op: string;
}> = {}): FlowMetrics {
  const cIsA = c.addr < s.addr || (c.addr === s.addr && cport <= sport);
  const [A, pa, B, pb] = cIsA ? [c, cport, s, sport] : [s, sport, c, cport];
  const w = BigInt(windowSec) * S;
  const half = x.rttMs === undefined ? null : rttStats(x.rttMs / 2, 10, (x.rttMaxMs ?? x.rttMs * 1.5) / 2);
  const seg = x.segments ?? 0;
  const dirC = seg ? tcpDir(seg, x.lost ?? 0) : null, dirS = seg ? tcpDir(seg, 0) : null;
  const uc = x.utilClientOut ?? null, us = x.utilServerOut ?? null;
  return {
    window_start_ns: w, window_end_ns: w + 10n * S, flow_key: `6|${A.addr}|${pa}|${B.addr}|${pb}`, observation_point: x.op ?? 'mon:h1', ip_proto: 6,
    addr_a: A.addr, port_a: pa, addr_b: B.addr, port_b: pb, first_seen_ns: w, last_seen_ns: w + S,
    packets_ab: 100n, packets_ba: 100n, bytes_ab: 100_000n, bytes_ba: 100_000n, throughput_ab_bps: 10_000, throughput_ba_bps: 10_000,
    peak_1s_bytes_ab: 10_000n, peak_1s_bytes_ba: 10_000n, client_is_a: cIsA,
    handshake_server_ns: null, handshake_client_ns: null, handshake_total_ns: null,
    rtt_data_ab: half, rtt_data_ba: half, rtt_ts_ab: null, rtt_ts_ba: null, rtt_icmp_echo: null,
    tcp_ab: cIsA ? dirC : dirS, tcp_ba: cIsA ? dirS : dirC,
    vm_a: A.vm, vm_b: B.vm, nic_capacity_a_bps: null, nic_capacity_b_bps: null,
    utilization_a_out: cIsA ? uc : us, utilization_a_in: cIsA ? us : uc, utilization_a_out_peak_1s: null, utilization_a_in_peak_1s: null,
    utilization_b_out: cIsA ? us : uc, utilization_b_in: cIsA ? uc : us, utilization_b_out_peak_1s: null, utilization_b_in_peak_1s: null,
  };
}
