/**
 * Per (window, observation point, flow) accumulator: what one output record is built from.
 * No per-packet growth: counters, the current and peak 1-second byte counts per direction,
 * and one RTT accumulator (sketch bins) per kind, created on the first sample of that kind.
 */
import type { FlowMetrics, TcpDirection } from '../../../schemas/flow-metrics';
import { newRttAcc, addSample, toRttStats, type RttAcc } from './sketch';

/** RTT kinds, in this order in WindowAcc.rtt */
export const RTT_DATA_AB = 0, RTT_DATA_BA = 1, RTT_TS_AB = 2, RTT_TS_BA = 3, RTT_ICMP = 4;
export const RTT_KINDS = 5;

/** Index of a TcpDirection counter in WindowAcc.tcp[dir] */
export const C = {
  dataSeg: 0, dataBytes: 1, rexSeg: 2, rexBytes: 3, lostBefore: 4, ooo: 5, dupAck: 6, zeroWin: 7, zwProbe: 8,
  ambiguous: 9, untracked: 10, ackedUnseen: 11, spurious: 12,
} as const;
const N_COUNTERS = 13;

export interface WindowAcc {
  w: bigint; // window start ns
  k: string; // flow key
  op: string;
  proto: number; a: string; pa: number; b: string; pb: number;
  first: bigint; last: bigint;
  pkts: [number, number]; bytes: [number, number];
  /**
   * peak 1-second bytes, per direction: [second, bytes in it, peak of the earlier seconds] x 2.
   * Packets arrive in time order per flow except within the allowed lateness; bytes of a packet
   * from an earlier second than the current one are added to the current second.
   */
  sec: number[];
  rtt: (RttAcc | null)[];
  clientIsA: boolean | null;
  hsServer: number | null; hsClient: number | null; hsTotal: number | null;
  /** TCP counters per direction (0 = sent by A), null until a TCP packet is seen */
  tcp: [number[], number[]] | null;
}

export interface FlowIdentity { k: string; op: string; proto: number; a: string; pa: number; b: string; pb: number }

export function newWindowAcc(w: bigint, id: FlowIdentity, ts: bigint): WindowAcc {
  return { w, k: id.k, op: id.op, proto: id.proto, a: id.a, pa: id.pa, b: id.b, pb: id.pb, first: ts, last: ts,
    pkts: [0, 0], bytes: [0, 0], sec: [-1, 0, 0, -1, 0, 0], rtt: [null, null, null, null, null],
    clientIsA: null, hsServer: null, hsClient: null, hsTotal: null, tcp: null };
}

/**
 * The epoch second of a timestamp, kept between packets: BigInt division allocates, and
 * consecutive packets mostly fall in the same second.
 */
export class SecondCursor {
  private from = 1n;
  private to = 0n;
  private sec = 0;

  of(ts: bigint): number {
    if (ts < this.from || ts >= this.to) {
      const s = ts / 1_000_000_000n - (ts < 0n && ts % 1_000_000_000n !== 0n ? 1n : 0n); // floor, also below 0
      this.sec = Number(s);
      this.from = s * 1_000_000_000n;
      this.to = this.from + 1_000_000_000n;
    }
    return this.sec;
  }
}

/** `sec`: the packet's epoch second (SecondCursor.of(ts)). */
export function countPacket(acc: WindowAcc, dir: 0 | 1, ts: bigint, sec: number, wireBytes: number, n: number): void {
  acc.pkts[dir] += n;
  acc.bytes[dir] += wireBytes;
  if (ts < acc.first) acc.first = ts;
  if (ts > acc.last) acc.last = ts;
  // 1-second slots aligned to whole epoch seconds
  const o = dir * 3;
  if (sec > acc.sec[o]) {
    if (acc.sec[o + 1] > acc.sec[o + 2]) acc.sec[o + 2] = acc.sec[o + 1];
    acc.sec[o] = sec;
    acc.sec[o + 1] = 0;
  }
  acc.sec[o + 1] += wireBytes;
}

export function tcpCounters(acc: WindowAcc): [number[], number[]] {
  if (!acc.tcp) acc.tcp = [new Array<number>(N_COUNTERS).fill(0), new Array<number>(N_COUNTERS).fill(0)];
  return acc.tcp;
}

export function rttSample(acc: WindowAcc, kind: number, ns: number, prev: number, relativeAccuracy: number): void {
  let r = acc.rtt[kind];
  if (!r) { r = newRttAcc(); acc.rtt[kind] = r; }
  addSample(r, ns, prev, relativeAccuracy);
}

function tcpDirection(c: number[]): TcpDirection {
  const lost = c[C.rexSeg] + c[C.lostBefore];
  return {
    data_segments: BigInt(c[C.dataSeg]), data_bytes: BigInt(c[C.dataBytes]),
    retransmitted_segments: BigInt(c[C.rexSeg]), retransmitted_bytes: BigInt(c[C.rexBytes]),
    lost_before_mirror_segments: BigInt(c[C.lostBefore]), out_of_order_segments: BigInt(c[C.ooo]),
    retransmission_rate: c[C.dataSeg] > 0 ? lost / c[C.dataSeg] : 0,
    dup_acks: BigInt(c[C.dupAck]), zero_windows: BigInt(c[C.zeroWin]), zero_window_probes: BigInt(c[C.zwProbe]),
    rtt_ambiguous: BigInt(c[C.ambiguous]), rtt_untracked_segments: BigInt(c[C.untracked]),
    acked_unseen_gaps: BigInt(c[C.ackedUnseen]),
    spurious_retransmissions: BigInt(c[C.spurious] ?? 0),
  };
}

/** The inventory VM holding an endpoint's address at the window's first packet (null: none). */
export interface EndpointVm { vm: string; capacityBps: number | null }

export function toFlowMetrics(acc: WindowAcc, windowNs: bigint, relativeAccuracy: number, vmA: EndpointVm | null = null, vmB: EndpointVm | null = null): FlowMetrics {
  const secs = Number(windowNs) / 1e9;
  const peakAb = Math.max(acc.sec[1], acc.sec[2]), peakBa = Math.max(acc.sec[4], acc.sec[5]);
  const rtt = (i: number) => { const r = acc.rtt[i]; return r ? toRttStats(r, relativeAccuracy) : null; };
  const big = (x: number | null) => (x === null ? null : BigInt(x));
  const capA = vmA && vmA.capacityBps !== null && vmA.capacityBps > 0 ? vmA.capacityBps : null;
  const capB = vmB && vmB.capacityBps !== null && vmB.capacityBps > 0 ? vmB.capacityBps : null;
  const util = (bytesPerSec: number, cap: number | null) => (cap === null ? null : (8 * bytesPerSec) / cap);
  return {
    window_start_ns: acc.w, window_end_ns: acc.w + windowNs, flow_key: acc.k, observation_point: acc.op,
    ip_proto: acc.proto, addr_a: acc.a, port_a: acc.pa, addr_b: acc.b, port_b: acc.pb,
    first_seen_ns: acc.first, last_seen_ns: acc.last,
    packets_ab: BigInt(acc.pkts[0]), packets_ba: BigInt(acc.pkts[1]), bytes_ab: BigInt(acc.bytes[0]), bytes_ba: BigInt(acc.bytes[1]),
    throughput_ab_bps: acc.bytes[0] / secs, throughput_ba_bps: acc.bytes[1] / secs,
    peak_1s_bytes_ab: BigInt(peakAb), peak_1s_bytes_ba: BigInt(peakBa),
    client_is_a: acc.clientIsA,
    handshake_server_ns: big(acc.hsServer), handshake_client_ns: big(acc.hsClient), handshake_total_ns: big(acc.hsTotal),
    rtt_data_ab: rtt(RTT_DATA_AB), rtt_data_ba: rtt(RTT_DATA_BA), rtt_ts_ab: rtt(RTT_TS_AB), rtt_ts_ba: rtt(RTT_TS_BA),
    rtt_icmp_echo: rtt(RTT_ICMP),
    tcp_ab: acc.tcp ? tcpDirection(acc.tcp[0]) : null, tcp_ba: acc.tcp ? tcpDirection(acc.tcp[1]) : null,
    vm_a: vmA?.vm ?? null, vm_b: vmB?.vm ?? null,
    nic_capacity_a_bps: capA === null ? null : BigInt(capA), nic_capacity_b_bps: capB === null ? null : BigInt(capB),
    // throughput is bytes/s, NIC capacity bits/s
    utilization_a_out: util(acc.bytes[0] / secs, capA), utilization_a_in: util(acc.bytes[1] / secs, capA),
    utilization_a_out_peak_1s: util(peakAb, capA), utilization_a_in_peak_1s: util(peakBa, capA),
    utilization_b_out: util(acc.bytes[1] / secs, capB), utilization_b_in: util(acc.bytes[0] / secs, capB),
    utilization_b_out_peak_1s: util(peakBa, capB), utilization_b_in_peak_1s: util(peakAb, capB),
  };
}
