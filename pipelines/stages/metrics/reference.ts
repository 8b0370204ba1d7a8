/**
 * Test and comparison helpers: run a capture through the metrics stage on the in-memory driver,
 * merge each flow's windows (through the sketch bins, as a consumer would), and read the same
 * connections from tcptrace (`tcptrace -lr`) and tshark for an independent reference.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { readAll } from '../../../lib/pcap';
import { decodeFrame } from '../../../lib/decode';
import { orderEndpoints, flowKeyOf } from '../../../lib/flow-key';
import type { PacketSummary } from '../../../schemas/types';
import { FLOW_METRICS_TOPIC, type FlowMetrics, type RttStats, type TcpDirection } from '../../../schemas/flow-metrics';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { mergeRttStats } from './sketch';
import { metricsStage, type MetricsConfig } from '.';

export const CORPUS = path.resolve(__dirname, '../../../../shared/pcaps');

export async function capturePackets(file: string, observationPoint = 'test'): Promise<PacketSummary[]> {
  const recs = await readAll(path.isAbsolute(file) ? file : path.join(CORPUS, file));
  return recs.map((r) => decodeFrame(r, { observationPoint }));
}

export function runMetrics(packets: PacketSummary[], cfg: Partial<MetricsConfig> = {}, batch = 256): FlowMetrics[] {
  const d = new TopologyTestDriver(metricsStage(cfg));
  for (let i = 0; i < packets.length; i += batch) d.pipeMessage('k', packets.slice(i, i + batch));
  d.endOfStream();
  return d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC).map((o) => o.value);
}

export interface FlowTotals {
  key: string; a: string; pa: number; b: string; pb: number;
  windows: number;
  dataAb: RttStats | null; dataBa: RttStats | null; tsAb: RttStats | null; tsBa: RttStats | null; icmp: RttStats | null;
  hsServer: number | null; hsClient: number | null; hsTotal: number | null; clientIsA: boolean | null;
  tcpAb: Record<keyof TcpDirection, number>; tcpBa: Record<keyof TcpDirection, number>;
}

function addTcp(sum: Record<string, number>, x: TcpDirection | null): void {
  if (!x) return;
  for (const [k, v] of Object.entries(x)) sum[k] = (sum[k] ?? 0) + Number(v);
}

/** One entry per flow key: the windows merged (sketch bins merged, counters added). */
export function perFlow(records: FlowMetrics[]): Map<string, FlowTotals> {
  const groups = new Map<string, FlowMetrics[]>();
  for (const r of records) { const g = groups.get(r.flow_key) ?? []; g.push(r); groups.set(r.flow_key, g); }
  const out = new Map<string, FlowTotals>();
  for (const [key, rs] of groups) {
    const tcpAb: Record<string, number> = {}, tcpBa: Record<string, number> = {};
    for (const r of rs) { addTcp(tcpAb, r.tcp_ab); addTcp(tcpBa, r.tcp_ba); }
    for (const t of [tcpAb, tcpBa]) {
      t.retransmission_rate = t.data_segments ? ((t.retransmitted_segments ?? 0) + (t.lost_before_mirror_segments ?? 0)) / t.data_segments : 0;
    }
    const first = <T>(f: (r: FlowMetrics) => T | null) => rs.map(f).find((x) => x !== null) ?? null;
    out.set(key, {
      key, a: rs[0].addr_a, pa: rs[0].port_a, b: rs[0].addr_b, pb: rs[0].port_b, windows: rs.length,
      dataAb: mergeRttStats(rs.map((r) => r.rtt_data_ab)), dataBa: mergeRttStats(rs.map((r) => r.rtt_data_ba)),
      tsAb: mergeRttStats(rs.map((r) => r.rtt_ts_ab)), tsBa: mergeRttStats(rs.map((r) => r.rtt_ts_ba)),
      icmp: mergeRttStats(rs.map((r) => r.rtt_icmp_echo)),
      hsServer: first((r) => (r.handshake_server_ns === null ? null : Number(r.handshake_server_ns))),
      hsClient: first((r) => (r.handshake_client_ns === null ? null : Number(r.handshake_client_ns))),
      hsTotal: first((r) => (r.handshake_total_ns === null ? null : Number(r.handshake_total_ns))),
      clientIsA: first((r) => r.client_is_a),
      tcpAb: tcpAb as FlowTotals['tcpAb'], tcpBa: tcpBa as FlowTotals['tcpBa'],
    });
  }
  return out;
}

export interface TcptraceDir { samples: number; minMs: number; maxMs: number; avgMs: number; rexmtPkts: number; oooPkts: number }
export interface TcptraceConn { key: string; hostA: string; hostB: string; aIsFlowA: boolean; a2b: TcptraceDir; b2a: TcptraceDir }

/**
 * `tcptrace -lr FILE`, per connection and direction. tcptrace's "a->b" column is traffic sent
 * by its host a (the connection's first sender); aIsFlowA tells whether that is our endpoint A.
 */
export function tcptrace(file: string): TcptraceConn[] {
  const out = execFileSync('tcptrace', ['-lr', '-n', path.isAbsolute(file) ? file : path.join(CORPUS, file)], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
  const conns: TcptraceConn[] = [];
  for (const block of out.split(/^TCP connection \d+:/m).slice(1)) {
    // hosts are labelled a/b, c/d, ... per connection; the first one is the first sender
    const hosts = block.split('\n').map((l) => /^\s*host \w+:\s+(.*):(\d+)\s*$/.exec(l)).filter((m) => m !== null);
    const [ha, hb] = hosts;
    if (!ha || !hb) continue;
    const pair = (label: string): [number, number] => {
      const m = new RegExp(`${label}:\\s+([\\d.]+)[^\\d]+([\\d.]+)`).exec(block);
      return m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
    };
    const [sa, sb] = pair('RTT samples'), [mina, minb] = pair('RTT min'), [maxa, maxb] = pair('RTT max'), [avga, avgb] = pair('RTT avg');
    const [ra, rb] = pair('rexmt data pkts'), [oa, ob] = pair('outoforder pkts');
    const e = orderEndpoints(6, ha[1], Number(ha[2]), hb[1], Number(hb[2]));
    conns.push({ key: flowKeyOf(e), hostA: `${ha[1]}:${ha[2]}`, hostB: `${hb[1]}:${hb[2]}`, aIsFlowA: e.srcIsA,
      a2b: { samples: sa, minMs: mina, maxMs: maxa, avgMs: avga, rexmtPkts: ra, oooPkts: oa },
      b2a: { samples: sb, minMs: minb, maxMs: maxb, avgMs: avgb, rexmtPkts: rb, oooPkts: ob } });
  }
  return conns;
}

/** tshark: number of frames matching `filter` per flow key (TCP/UDP ports, innermost addresses). */
export function tsharkCountByFlow(file: string, filter: string): Map<string, number> {
  const out = execFileSync('tshark', ['-r', path.isAbsolute(file) ? file : path.join(CORPUS, file), '-Y', filter, '-T', 'fields', '-E', 'separator=\t',
    '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport'], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const [s4, s6, sp, d4, d6, dp] = line.split('\t');
    const e = orderEndpoints(6, (s4 || s6).split(',').pop()!, Number(sp), (d4 || d6).split(',').pop()!, Number(dp));
    const k = `${flowKeyOf(e)}|${e.srcIsA ? 'ab' : 'ba'}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** tshark's echo response times (icmp.resptime / icmpv6.resptime), in ms, in capture order. */
export function tsharkEchoTimes(file: string, v6: boolean): number[] {
  const field = v6 ? 'icmpv6.resptime' : 'icmp.resptime';
  const out = execFileSync('tshark', ['-r', path.isAbsolute(file) ? file : path.join(CORPUS, file), '-Y', field, '-T', 'fields', '-e', field], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.trim()).map(Number);
}

export interface RttComparison {
  file: string; conn: string; dir: 'a2b' | 'b2a';
  tcptraceSamples: number; tcptraceAvgMs: number; oursSamples: number; oursMeanMs: number; diffMs: number; ok: boolean;
  tcptraceRexmt: number; oursRexmt: number;
}

/** Per tcptrace connection and direction, our merged data->ACK RTT against tcptrace's. */
export function compareWithTcptrace(file: string, flows: Map<string, FlowTotals>): RttComparison[] {
  const rows: RttComparison[] = [];
  for (const c of tcptrace(file)) {
    const f = flows.get(c.key);
    for (const dir of ['a2b', 'b2a'] as const) {
      const ref = c[dir];
      // tcptrace's a->b = segments sent by its host a; ours: data_ab = segments sent by flow endpoint A
      const sentByFlowA = (dir === 'a2b') === c.aIsFlowA;
      const ours = f ? (sentByFlowA ? f.dataAb : f.dataBa) : null;
      const tcp = f ? (sentByFlowA ? f.tcpAb : f.tcpBa) : null;
      const n = ours ? Number(ours.count) : 0;
      const mean = ours ? ours.mean_ns / 1e6 : 0;
      const diff = Math.abs(mean - ref.avgMs);
      rows.push({ file: path.basename(file), conn: `${c.hostA}-${c.hostB}`, dir, tcptraceSamples: ref.samples, tcptraceAvgMs: ref.avgMs,
        oursSamples: n, oursMeanMs: mean, diffMs: diff,
        // 5% or 0.1 ms (tcptrace prints 0.1 ms steps: its rounding is at most 0.05 ms of that)
        ok: diff <= Math.max(0.05 * ref.avgMs, 0.1),
        tcptraceRexmt: ref.rexmtPkts, oursRexmt: tcp ? (tcp.retransmitted_segments ?? 0) : 0 });
    }
  }
  return rows;
}

export interface RexmitComparison {
  file: string; flow: string; dir: 'ab' | 'ba';
  /** tshark frames with sequence space below the next expected byte (retransmission, fast/spurious retransmission or out-of-order) */
  tsharkBelowNext: number; tsharkRetrans: number; tsharkOoo: number;
  oursRetrans: number; oursLostBefore: number; oursOoo: number; oursZwProbes: number;
  /** tshark "previous segment not captured" (a gap opens) vs ours: gaps filled (lost before / reordered) + gaps acknowledged unseen */
  tsharkGaps: number; oursAckedUnseen: number;
}

const BELOW = 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order';

/** Per flow and direction, our loss classification against tshark's expert analysis. */
export function compareWithTshark(file: string, flows: Map<string, FlowTotals>): RexmitComparison[] {
  const below = tsharkCountByFlow(file, BELOW);
  const rex = tsharkCountByFlow(file, '(tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission) && tcp.len > 0');
  const ooo = tsharkCountByFlow(file, 'tcp.analysis.out_of_order && tcp.len > 0');
  const gaps = tsharkCountByFlow(file, 'tcp.analysis.lost_segment');
  const rows: RexmitComparison[] = [];
  for (const f of flows.values()) {
    if (!f.key.startsWith('6|')) continue;
    for (const dir of ['ab', 'ba'] as const) {
      const t = dir === 'ab' ? f.tcpAb : f.tcpBa;
      const k = `${f.key}|${dir}`;
      rows.push({ file: path.basename(file), flow: `${f.a}:${f.pa}-${f.b}:${f.pb}`, dir,
        tsharkBelowNext: below.get(k) ?? 0, tsharkRetrans: rex.get(k) ?? 0, tsharkOoo: ooo.get(k) ?? 0,
        oursRetrans: t.retransmitted_segments ?? 0, oursLostBefore: t.lost_before_mirror_segments ?? 0, oursOoo: t.out_of_order_segments ?? 0,
        oursZwProbes: t.zero_window_probes ?? 0, tsharkGaps: gaps.get(k) ?? 0, oursAckedUnseen: t.acked_unseen_gaps ?? 0 });
    }
  }
  return rows;
}
