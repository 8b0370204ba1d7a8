import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { DDSketch } from '@datadog/sketches-js';
import { AvroCodec, schemaJson } from '../../../schemas';
import type { PacketSummary } from '../../../schemas/types';
import { FLOW_METRICS_SCHEMA, FLOW_METRICS_TOPIC, type FlowMetrics, type RttStats } from '../../../schemas/flow-metrics';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { mergeRttStats, sketchFromBins } from './sketch';
import type { VmInventory } from '../../../schemas/vm-inventory';
import { metricsStage, CONN_STORE, WINDOW_STORE, META_STORE, INVENTORY_TABLE, type MetricsConfig, type MetricsPacket } from '.';
import type { ConnState, MetaState } from './processor';
import { A, B, FIN, SYN, ACK, PSH, ns, tcp, echo, handshake } from './test-packets';

const S = 1_000_000_000n;
function run(packets: PacketSummary[], cfg: Partial<MetricsConfig> = {}): { out: FlowMetrics[]; d: TopologyTestDriver<MetricsPacket> } {
  const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 1_000, ...cfg }));
  for (const p of packets) d.pipeInput('k', p);
  d.endOfStream();
  return { out: d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC).map((o) => o.value), d };
}


const ms = (x: bigint | number | null | undefined) => (x === null || x === undefined ? null : Number(x) / 1e6);

describe('metrics stage (in-memory driver)', () => {
  it('FlowMetrics schema: TS view and .avsc agree, a full record round-trips', () => {
    const { out } = run([...handshake(100), tcp(100.02, true, ACK | PSH, 1001, 5001, 100), tcp(100.03, false, ACK, 5001, 1101), echo(100.1, true, true, 1), echo(100.2, false, false, 1)]);
    const codec = new AvroCodec<FlowMetrics>(FLOW_METRICS_SCHEMA);
    for (const r of out) assert.deepEqual(codec.decode(codec.encode(r)), r);
    const tcpRec = out.find((r) => r.ip_proto === 6)!;
    const fields = (schemaJson(FLOW_METRICS_SCHEMA) as { fields: { name: string }[] }).fields.map((f) => f.name);
    assert.deepEqual(Object.keys(tcpRec), fields);
    assert.ok(tcpRec.rtt_data_ab && tcpRec.tcp_ab);
  });

  it('splits the handshake: server side SYN-ACK - SYN, client side ACK - SYN-ACK, total', () => {
    const { out } = run(handshake(100));
    assert.equal(out.length, 1);
    const r = out[0];
    assert.equal(r.client_is_a, true);
    assert.equal(ms(r.handshake_server_ns), 10);
    assert.equal(ms(r.handshake_client_ns), 2);
    assert.equal(ms(r.handshake_total_ns), 12);
    // SYN and SYN-ACK occupy one sequence number: their ACKs are data->ACK samples too (as tcptrace)
    assert.equal(ms(r.rtt_data_ab!.mean_ns), 10);
    assert.equal(ms(r.rtt_data_ba!.mean_ns), 2);
  });

  it('skips the handshake split of a retransmitted SYN (Karn)', () => {
    const { out } = run([tcp(100, true, SYN, 1000, 0), tcp(101, true, SYN, 1000, 0), tcp(101.01, false, SYN | ACK, 5000, 1001), tcp(101.012, true, ACK, 1001, 5001)]);
    const r = out[0];
    assert.equal(r.handshake_server_ns, null);
    assert.equal(r.handshake_total_ns, null);
    assert.equal(ms(r.handshake_client_ns), 2);
    assert.equal(r.rtt_data_ab, null, 'the SYN-ACK acknowledges a retransmitted SYN: no sample');
    assert.equal(r.tcp_ab!.retransmitted_segments, 1n);
    assert.equal(r.tcp_ab!.rtt_ambiguous, 1n);
  });

  it('puts a sample into the window of the packet that completes it', () => {
    const { out } = run([...handshake(100), tcp(109.99, true, ACK | PSH, 1001, 5001, 500), tcp(110.03, false, ACK, 5001, 1501)]);
    assert.deepEqual(out.map((r) => r.window_start_ns), [100n * S, 110n * S]);
    const [w1, w2] = out;
    assert.equal(w1.rtt_data_ab!.count, 1n, 'only the SYN sample in the first window');
    assert.equal(w2.rtt_data_ab!.count, 1n);
    assert.equal(Math.round(w2.rtt_data_ab!.mean_ns / 1e3), 40_000, 'data at 109.99 s, ACK at 110.03 s');
    assert.equal(w1.tcp_ab!.data_segments, 1n);
    assert.equal(w2.tcp_ab!.data_segments, 0n);
  });

  it('takes a sample only for the exactly acknowledged, never retransmitted segment (Karn, tcptrace rules)', () => {
    const { out } = run([
      ...handshake(100),
      tcp(100.1, true, ACK, 1001, 5001, 100), tcp(100.1, true, ACK, 1101, 5001, 100), // two segments
      tcp(100.15, false, ACK, 5001, 1201), // cumulative ACK: sample only for the second
      tcp(100.2, true, ACK, 1201, 5001, 100), tcp(100.5, true, ACK, 1201, 5001, 100), // retransmission
      tcp(100.52, false, ACK, 5001, 1301), // ambiguous: no sample
      tcp(100.6, true, ACK, 1301, 5001, 100), tcp(100.63, false, ACK, 5001, 1401), // clean again
    ]);
    const r = out[0];
    assert.equal(r.rtt_data_ab!.count, 3n); // SYN, the cumulative one, the clean last one
    assert.equal(r.rtt_data_ab!.max_ns, 50_000_000n);
    assert.equal(r.tcp_ab!.retransmitted_segments, 1n);
    assert.equal(r.tcp_ab!.retransmitted_bytes, 100n);
    assert.equal(r.tcp_ab!.rtt_ambiguous, 1n);
    assert.equal(r.tcp_ab!.data_segments, 5n);
    assert.equal(r.tcp_ab!.retransmission_rate, 1 / 5);
  });

  it('tells loss before the mirror (late gap fill, or after 3 duplicate ACKs) from reordering', () => {
    const { out } = run([
      ...handshake(100), // handshake RTT 12 ms = reorder threshold
      tcp(100.1, true, ACK, 1001, 5001, 100), tcp(100.1001, true, ACK, 1201, 5001, 100), // 1101..1201 missing
      tcp(100.1005, true, ACK, 1101, 5001, 100), // arrives 0.4 ms later: reordering
      tcp(100.2, true, ACK, 1301, 5001, 100), tcp(100.2001, true, ACK, 1501, 5001, 100), // 1401..1501 missing
      tcp(100.25, true, ACK, 1401, 5001, 100), // 50 ms later: the original never reached the mirror
      tcp(100.3, true, ACK, 1601, 5001, 100), // 1701..1801 missing
      tcp(100.3001, true, ACK, 1801, 5001, 100),
      tcp(100.301, false, ACK, 5001, 1701), tcp(100.302, false, ACK, 5001, 1701), // duplicate ACKs (receiver saw the gap) ...
      tcp(100.3021, false, ACK, 5001, 1701), tcp(100.3022, false, ACK, 5001, 1701), // ... 3 of them: the sender's dupthresh
      tcp(100.303, true, ACK, 1701, 5001, 100), // 3 ms: under the threshold but signalled
    ]);
    const t = out[0].tcp_ab!;
    assert.equal(t.out_of_order_segments, 1n);
    assert.equal(t.lost_before_mirror_segments, 2n);
    assert.equal(t.retransmitted_segments, 0n);
    assert.equal(out[0].tcp_ba!.dup_acks, 3n);
  });

  it('a gap the receiver acknowledges without the mirror seeing its data is capture loss, not network loss', () => {
    const { out } = run([
      ...handshake(100),
      tcp(100.1, true, ACK, 1001, 5001, 100), tcp(100.1001, true, ACK, 1201, 5001, 100), // 1101..1201 not captured
      tcp(100.11, false, ACK, 5001, 1151), // partly acknowledged: not counted yet
      tcp(100.12, false, ACK, 5001, 1301),
    ]);
    const t = out[0].tcp_ab!;
    assert.equal(t.acked_unseen_gaps, 1n);
    assert.equal(Number(t.lost_before_mirror_segments) + Number(t.out_of_order_segments) + Number(t.retransmitted_segments), 0);
    assert.equal(t.retransmission_rate, 0);
  });

  it('counts zero windows and duplicate ACKs', () => {
    const { out } = run([
      ...handshake(100),
      tcp(100.1, true, ACK, 1001, 5001, 100),
      tcp(100.2, false, ACK, 5001, 1101, 0, { tcp_window: 0 }),
      tcp(100.3, false, ACK, 5001, 1101, 0, { tcp_window: 0 }),
      tcp(100.4, false, ACK, 5001, 1101, 0, { tcp_window: 512 }),
      tcp(100.5, false, ACK, 5001, 1101, 0, { tcp_window: 512 }),
    ]);
    assert.equal(out[0].tcp_ba!.zero_windows, 2n);
    assert.equal(out[0].tcp_ba!.dup_acks, 1n, 'zero-window and window-update ACKs are not duplicates');
  });

  it('measures throughput: mean bytes/s over the window and the peak 1-second slot', () => {
    const pk: PacketSummary[] = [];
    for (let i = 0; i < 10; i++) pk.push(tcp(100.5, true, ACK, 1001 + i * 1000, 5001, 1000)); // 10 x 1054 B in second 100
    pk.push(tcp(103.5, true, ACK, 11001, 5001, 1000)); // 1054 B in second 103
    pk.push(tcp(104.0, false, ACK, 5001, 12001)); // 54 B back
    const r = run(pk).out[0];
    assert.equal(r.bytes_ab, 11_594n);
    assert.equal(r.throughput_ab_bps, 1159.4);
    assert.equal(r.peak_1s_bytes_ab, 10_540n);
    assert.equal(r.peak_1s_bytes_ba, 54n);
  });

  it('ICMP and ICMPv6 echo RTT; a request seen twice is ambiguous; jitter = mean |difference| of consecutive samples', () => {
    const { out } = run([
      echo(100, true, true, 1), echo(100.010, false, false, 1),
      echo(101, true, true, 2), echo(101.012, false, false, 2),
      echo(102, true, true, 3), echo(102.011, false, false, 3),
      echo(103, true, true, 4), echo(103.5, true, true, 4), echo(103.52, false, false, 4), // duplicate request
      echo(104, true, true, 5, true), echo(104.003, false, false, 5, true),
    ]);
    const v4 = out.find((r) => r.ip_proto === 1)!.rtt_icmp_echo!;
    assert.equal(v4.count, 3n);
    assert.equal(ms(v4.min_ns), 10);
    assert.equal(ms(v4.max_ns), 12);
    assert.equal(v4.jitter_ns, 1.5e6);
    assert.equal(ms(out.find((r) => r.ip_proto === 58)!.rtt_icmp_echo!.mean_ns), 3);
  });

  it('TCP timestamps: first TSval on data -> first TSecr echoing it', () => {
    const ts = (v: number, e: number) => ({ tcp_ts_val: BigInt(v), tcp_ts_ecr: BigInt(e) });
    const r = run([
      ...handshake(100),
      tcp(100.1, true, ACK, 1001, 5001, 100, ts(500, 900)),
      tcp(100.13, false, ACK, 5001, 1101, 0, ts(901, 500)),
      tcp(100.2, false, ACK, 5001, 1101, 0, ts(902, 500)), // echoes it again: no second sample
    ]).out[0];
    assert.equal(r.rtt_ts_ab!.count, 1n);
    assert.equal(ms(r.rtt_ts_ab!.mean_ns), 30);
    assert.equal(r.rtt_ts_ba, null, 'pure ACK TSvals are not sampled');
  });

  it('handles 32-bit sequence wraparound', () => {
    const isn = 0xffffff00;
    const r = run([
      ...handshake(100, isn),
      tcp(100.1, true, ACK, isn + 1, 5001, 500), // crosses 2^32
      tcp(100.12, false, ACK, 5001, (isn + 501) >>> 0),
    ]).out[0];
    assert.equal(r.rtt_data_ab!.count, 2n);
    assert.equal(r.rtt_data_ab!.max_ns, 20_000_000n);
    assert.equal(r.tcp_ab!.retransmitted_segments, 0n);
  });

  it('merging two windows\' sketch bins equals the sketch of all their samples', () => {
    const rnd = (i: number) => 1e6 * (1 + ((i * 7919) % 997) / 10); // 1 .. 100 ms, deterministic
    const pk: PacketSummary[] = [];
    const all = new DDSketch({ relativeAccuracy: 0.01 });
    for (let i = 0; i < 400; i++) {
      const t = 100 + i * 0.04; // 16 s: windows [100,110) and [110,120)
      const rtt = Math.round(rnd(i) / 1000) / 1e6;
      pk.push(echo(t, true, true, i), echo(t + rtt, false, false, i));
      all.accept(Number(ns(t + rtt) - ns(t)));
    }
    const recs = run(pk).out.map((r) => r.rtt_icmp_echo);
    assert.equal(recs.length, 2);
    const merged = mergeRttStats(recs)!;
    const direct = sketchFromBins(merged.sketch);
    const whole = run(pk, { windowMs: 60_000 }).out[0].rtt_icmp_echo!;
    assert.deepEqual({ ...merged.sketch }, { ...whole.sketch }, 'merged bins == bins of one window holding every sample');
    assert.equal(merged.count, 400n);
    for (const q of [0, 0.5, 0.9, 0.95, 0.99, 1]) {
      assert.equal(direct.getValueAtQuantile(q), all.getValueAtQuantile(q), `quantile ${q}`);
    }
    assert.equal(merged.p99_ns, whole.p99_ns);
    assert.equal(merged.sum_ns, whole.sum_ns);
    assert.equal(merged.delta_sum_ns, whole.delta_sum_ns, 'jitter carries across windows');
    assert.equal(merged.delta_count, 399n);
    assert.equal(merged.min_ns, whole.min_ns);
    assert.equal(merged.max_ns, whole.max_ns);
  });

  it('late packets update connection state but not closed windows', () => {
    const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 1_000 }));
    for (const p of handshake(100)) d.pipeInput('k', p);
    d.pipeInput('k', tcp(100.1, true, ACK, 1001, 5001, 100));
    d.pipeInput('k', echo(112, true, true, 1)); // stream time 112: [100,110) closes
    assert.equal(d.readOutput(FLOW_METRICS_TOPIC).length, 1);
    d.pipeInput('k', tcp(105, false, ACK, 5001, 1101)); // late: its window is closed
    d.pipeInput('k', tcp(112.1, true, ACK, 1101, 5001, 100)); // in order thanks to the late ACK
    d.pipeInput('k', tcp(112.2, false, ACK, 5001, 1201));
    d.endOfStream();
    assert.equal(d.metrics.droppedByReason.get('late'), 1);
    const out = d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC).filter((r) => r.value.ip_proto === 6);
    assert.equal(out.length, 1);
    assert.equal(out[0].value.rtt_data_ab!.count, 1n);
    assert.equal(out[0].value.tcp_ab!.retransmitted_segments, 0n);
  });

  it('bounds its state: capped outstanding lists, idle connections evicted, plain (changelog-safe) values', () => {
    const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 0, maxOutstanding: 4, idleTimeoutMs: 30_000 }));
    for (const p of handshake(100)) d.pipeInput('k', p);
    for (let i = 0; i < 10; i++) d.pipeInput('k', tcp(100.1 + i * 0.001, true, ACK, 1001 + i * 100, 5001, 100));
    const conn = [...d.store<ConnState>(CONN_STORE).values()][0];
    assert.equal(conn.d[0].out.length, 4 * 4);
    for (const name of [CONN_STORE, WINDOW_STORE, META_STORE]) {
      for (const [k, v] of d.store(name)) assert.deepEqual(v8.deserialize(v8.serialize(v)), v, `${name}/${k} survives structured clone`);
    }
    d.pipeInput('k', tcp(100.2, false, ACK, 5001, 2001));
    d.pipeInput('other', echo(125, true, true, 1)); // 25 s idle: kept
    assert.equal(d.store(CONN_STORE).size, 2);
    d.pipeInput('other', echo(140, true, true, 2)); // 40 s idle: evicted
    assert.equal(d.store(CONN_STORE).size, 1);
    assert.equal(d.store<MetaState>(META_STORE).get('meta')!.evictedIdle, 1);
    d.endOfStream();
    assert.equal(d.store(CONN_STORE).size, 0);
    assert.equal(d.store(WINDOW_STORE).size, 0);
    const tcpOut = d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC).find((r) => r.value.ip_proto === 6)!.value;
    assert.equal(tcpOut.tcp_ab!.rtt_untracked_segments, 6n);
  });

  it('caps the gaps also when a fill splits one in two (maxHoles)', () => {
    const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 0, maxHoles: 2 }));
    for (const p of handshake(100)) d.pipeInput('k', p);
    // two gaps of 1000 bytes: 1001..2001 and 2101..3101 (segments of 100 at 2001 and 3101)
    d.pipeInput('k', tcp(100.1, true, ACK, 2001, 5001, 100));
    d.pipeInput('k', tcp(100.101, true, ACK, 3101, 5001, 100));
    const holes = () => [...d.store<ConnState>(CONN_STORE).values()][0].d[0].holes;
    assert.equal(holes().length, 2 * 5);
    // fills in the middle of each gap split it: without the cap this leaves 4 gaps
    d.pipeInput('k', tcp(100.102, true, ACK, 1501, 5001, 100));
    d.pipeInput('k', tcp(100.103, true, ACK, 2601, 5001, 100));
    assert.equal(holes().length, 2 * 5);
    // relative sequence numbers (ISN 1000 = 0): the lowest pieces went, the two above the last fill stay
    assert.deepEqual([holes()[0], holes()[1], holes()[5], holes()[6]], [1101, 1601, 1701, 2101]);
  });

  it('evicts a closed TCP connection after the linger time, an open one only when idle', () => {
    const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 0, closedLingerMs: 5_000, idleTimeoutMs: 60_000 }));
    for (const p of handshake(100)) d.pipeInput('k', p);
    d.pipeInput('k', tcp(100.1, true, ACK | FIN, 1001, 5001));
    d.pipeInput('k', tcp(100.2, false, ACK | FIN, 5001, 1002));
    d.pipeInput('k', tcp(100.3, true, ACK, 1002, 5002));
    const open = handshake(100).map((p) => ({ ...p, src_port: p.src_port === 80 ? 81 : p.src_port, dst_port: p.dst_port === 80 ? 81 : p.dst_port }));
    for (const p of open) d.pipeInput('k', p);
    d.pipeInput('x', echo(104, true, true, 1));
    assert.equal(d.store(CONN_STORE).size, 3);
    d.pipeInput('x', echo(106, true, true, 2));
    assert.equal(d.store(CONN_STORE).size, 2, 'closed one evicted 5 s after its last packet');
    assert.equal(d.store<MetaState>(META_STORE).get('meta')!.evictedClosed, 1);
    d.close();
  });

  it('tracks at most maxConnections connections; packets of others still count for throughput', () => {
    const d = new TopologyTestDriver(metricsStage({ maxConnections: 2 }));
    for (let i = 0; i < 5; i++) d.pipeInput('k', { ...tcp(100, true, SYN, 1000, 0), src_port: 40000 + i });
    assert.equal(d.store(CONN_STORE).size, 2);
    assert.equal(d.store<MetaState>(META_STORE).get('meta')!.untracked, 3);
    d.endOfStream();
    assert.equal(d.readOutput(FLOW_METRICS_TOPIC).length, 5);
  });

  describe('reordering vs loss before the mirror: each gap judged once, by its first fill', () => {
    const US = 1e-6;
    const MSS = 1448;
    /** the lab's handshake: RTT 80 us (below the 3 ms floor of the reorder threshold) */
    function labHandshake(t0: number): PacketSummary[] {
      return [tcp(t0, true, SYN, 1000, 0), tcp(t0 + 40 * US, false, SYN | ACK, 5000, 1001), tcp(t0 + 80 * US, true, ACK, 1001, 5001)];
    }
    const sack = (le: number, re: number, ...more: number[]) => ({ tcp_sack_blocks: [le, re, ...more].map((x) => BigInt(x >>> 0)) });

    it('the lab pattern: a burst overtaken by a later burst, a long gap filled over 6 ms, no duplicate ACKs -> reordering, not loss', () => {
      const t0 = 100;
      const pk = labHandshake(t0);
      let t = t0 + 0.001;
      const seq = (i: number) => 1001 + i * MSS;
      for (let i = 0; i < 10; i++) { pk.push(tcp(t, true, ACK, seq(i), 5001, MSS)); t += 3 * US; }
      const gap = 1200; // segments 10 .. 1209 queued on the other CPU's backlog
      const tail = seq(10 + gap);
      const tOpen = t;
      pk.push(tcp(t, true, ACK, tail, 5001, MSS), tcp(t + 2 * US, true, ACK | PSH, tail + MSS, 5001, 752)); // the overtaking burst
      const tailEnd = tail + MSS + 752;
      // the receiver SACKs it (its cumulative ACK still advancing: no duplicate ACK)
      pk.push(tcp(t + 8 * US, false, ACK, 5001, seq(10), 0, { tcp_window: 1000, ...sack(tail, tail + MSS) }));
      pk.push(tcp(t + 10 * US, false, ACK, 5001, seq(10), 0, { tcp_window: 999, ...sack(tail, tailEnd) }));
      t += 120 * US; // the first fill ~0.1 ms after the gap opened (more than the handshake RTT)
      for (let i = 10; i < 10 + gap; i++) {
        pk.push(tcp(t, true, ACK, seq(i), 5001, MSS));
        // the receiver acknowledges as the gap fills, SACKing the tail every time (>= 3 SACKs, but after the first fill)
        if (i % 8 === 7) pk.push(tcp(t + 1 * US, false, ACK, 5001, seq(i + 1), 0, { tcp_window: 1000 - i, ...sack(tail, tailEnd) }));
        t += 5 * US;
      }
      assert.ok(t - tOpen > 0.006, 'the fills last longer than the reorder threshold');
      pk.push(tcp(t, false, ACK, 5001, tailEnd, 0, { tcp_window: 500 }));
      const r = run(pk).out[0];
      const a = r.tcp_ab!;
      assert.equal(a.out_of_order_segments, BigInt(gap));
      assert.equal(a.lost_before_mirror_segments, 0n);
      assert.equal(a.retransmitted_segments, 0n);
      assert.equal(a.retransmission_rate, 0);
      assert.equal(a.spurious_retransmissions, 0n);
      assert.equal(r.tcp_ba!.dup_acks, 0n);
    });

    it('a gap whose first fill follows 3 SACKs of the data above it is loss before the mirror, and so are the fills that continue it', () => {
      const t0 = 100;
      const pk = labHandshake(t0);
      const seq = (i: number) => 1001 + i * MSS;
      let t = t0 + 0.001;
      pk.push(tcp(t, true, ACK, seq(0), 5001, MSS));
      // segments 1 and 2 lost upstream of the mirror; 3, 4, 5 pass, each SACKed (window changing: no Wireshark dup ACK)
      for (let i = 3; i < 6; i++) {
        pk.push(tcp(t + i * US, true, ACK, seq(i), 5001, MSS));
        pk.push(tcp(t + i * US + 10 * US, false, ACK, 5001, seq(1), 0, { tcp_window: 900 + i, ...sack(seq(3), seq(i + 1)) }));
      }
      t += 200 * US; // fast retransmit, well inside the 3 ms threshold
      pk.push(tcp(t, true, ACK, seq(1), 5001, MSS), tcp(t + 5 * US, true, ACK, seq(2), 5001, MSS));
      pk.push(tcp(t + 50 * US, false, ACK, 5001, seq(6), 0, { tcp_window: 1000 }));
      const a = run(pk).out[0].tcp_ab!;
      assert.equal(a.lost_before_mirror_segments, 2n);
      assert.equal(a.out_of_order_segments, 0n);
      assert.equal(a.retransmission_rate, 2 / 6);
    });

    it('one duplicate ACK, the original fills the gap, then the sender\'s spurious copy: reordering + a retransmission the receiver D-SACKs', () => {
      // lab:h2, limit 6kb run: the sender (RACK) resent on the first SACK, its original was ~20 us behind
      const t0 = 100;
      const pk = labHandshake(t0);
      const seq = (i: number) => 1001 + i * MSS;
      const t = t0 + 0.001;
      pk.push(tcp(t, true, ACK, seq(0), 5001, MSS), tcp(t + 5 * US, false, ACK, 5001, seq(1), 0, { tcp_window: 649 }));
      pk.push(tcp(t + 16 * US, true, ACK | PSH, seq(40), 5001, 752)); // the tail overtakes segments 1..39
      pk.push(tcp(t + 31 * US, false, ACK, 5001, seq(1), 0, { tcp_window: 649, ...sack(seq(40), seq(40) + 752) })); // duplicate ACK with SACK
      for (let i = 1; i < 40; i++) pk.push(tcp(t + (40 + i) * US, true, ACK, seq(i), 5001, MSS)); // the originals
      pk.push(tcp(t + 90 * US, true, ACK, seq(1), 5001, MSS)); // the spurious copy of segment 1
      pk.push(tcp(t + 100 * US, false, ACK, 5001, seq(40) + 752, 0, { tcp_window: 640, ...sack(seq(1), seq(2)) })); // D-SACK
      const r = run(pk).out[0];
      const a = r.tcp_ab!;
      assert.equal(r.tcp_ba!.dup_acks, 1n);
      assert.equal(a.out_of_order_segments, 39n);
      assert.equal(a.lost_before_mirror_segments, 0n);
      assert.equal(a.retransmitted_segments, 1n);
      assert.equal(a.spurious_retransmissions, 1n);
    });

    it('D-SACK (a SACK block below the cumulative ACK) counts a spurious retransmission, once per block', () => {
      const t0 = 100;
      const pk = labHandshake(t0);
      const seq = (i: number) => 1001 + i * MSS;
      const t = t0 + 0.001;
      pk.push(tcp(t, true, ACK, seq(0), 5001, MSS), tcp(t + 3 * US, true, ACK, seq(1), 5001, MSS));
      pk.push(tcp(t + 200 * US, true, ACK, seq(0), 5001, MSS)); // resent although it had arrived
      pk.push(tcp(t + 250 * US, false, ACK, 5001, seq(2), 0, { tcp_window: 1000, ...sack(seq(0), seq(1)) })); // D-SACK
      pk.push(tcp(t + 260 * US, false, ACK, 5001, seq(2), 0, { tcp_window: 1001, ...sack(seq(0), seq(1)) })); // the same block again
      const a = run(pk).out[0].tcp_ab!;
      assert.equal(a.retransmitted_segments, 1n, 'same bytes seen twice at the mirror');
      assert.equal(a.spurious_retransmissions, 1n);
      assert.equal(Number(a.lost_before_mirror_segments) + Number(a.out_of_order_segments), 0);
    });
  });

  describe('utilization against the NIC capacity of the inventory VM holding each endpoint', () => {
    const vm = (id: string, ips: string[], sinceSec: number, capacity: bigint | null): VmInventory => ({
      vm_id: id, name: id, macs: [], ips, host: 'hv1', tenant: null, project: null, subnet: null,
      nic_capacity_bps: capacity, valid_from_ns: BigInt(sinceSec) * S,
    });
    /** A sends 10 x 1054 B in second `sec` (+0.5), B answers with one 54-byte ACK */
    function burst(sec: number): PacketSummary[] {
      const pk: PacketSummary[] = [];
      for (let i = 0; i < 10; i++) pk.push(tcp(sec + 0.5, true, ACK, 1001 + i * 1000, 5001, 1000));
      pk.push(tcp(sec + 0.6, false, ACK, 5001, 11001));
      return pk;
    }

    it('attributes both endpoints at the window\'s first packet time: capacity changes and a reused IP apply from their valid_from_ns', () => {
      const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 1_000 }));
      // every version known before the traffic: the lookups still go by time
      d.pipeGlobal(INVENTORY_TABLE, 'vm-a', vm('vm-a', [A], 0, 1_000_000_000n));
      d.pipeGlobal(INVENTORY_TABLE, 'vm-b', vm('vm-b', [B], 0, 100_000_000n));
      d.pipeGlobal(INVENTORY_TABLE, 'vm-b', vm('vm-b', [B], 105, 200_000_000n)); // resized at 105 s
      d.pipeGlobal(INVENTORY_TABLE, 'vm-b', vm('vm-b', [], 118, 200_000_000n)); // releases B's address at 118 s
      d.pipeGlobal(INVENTORY_TABLE, 'vm-c', vm('vm-c', [B], 118, null)); // which vm-c takes, capacity unknown
      for (const p of [...burst(100), ...burst(112), ...burst(121)]) d.pipeInput('k', p);
      d.endOfStream();
      const out = d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC).map((o) => o.value);
      assert.equal(out.length, 3);
      const [w1, w2, w3] = out;
      assert.equal(w1.vm_a, 'vm-a');
      assert.equal(w1.vm_b, 'vm-b');
      assert.equal(w1.nic_capacity_a_bps, 1_000_000_000n);
      assert.equal(w1.nic_capacity_b_bps, 100_000_000n);
      // A sent 10 540 B and received 54 B in the 10 s window, all in one second
      const close = (x: number | null, y: number) => assert.ok(x !== null && Math.abs(x - y) < 1e-12 * Math.max(1, y), `${x} vs ${y}`);
      close(w1.utilization_a_out, (8 * 10_540) / 10 / 1e9);
      close(w1.utilization_a_in, (8 * 54) / 10 / 1e9);
      close(w1.utilization_a_out_peak_1s, (8 * 10_540) / 1e9);
      close(w1.utilization_a_in_peak_1s, (8 * 54) / 1e9);
      close(w1.utilization_b_out, (8 * 54) / 10 / 1e8);
      close(w1.utilization_b_in, (8 * 10_540) / 10 / 1e8);
      close(w1.utilization_b_out_peak_1s, (8 * 54) / 1e8);
      close(w1.utilization_b_in_peak_1s, (8 * 10_540) / 1e8);
      // the same identities as the throughput fields
      close(w1.utilization_a_out, (8 * w1.throughput_ab_bps) / 1e9);
      close(w1.utilization_b_in, (8 * w1.throughput_ab_bps) / 1e8);

      assert.equal(w2.vm_b, 'vm-b');
      assert.equal(w2.nic_capacity_b_bps, 200_000_000n, 'the version valid at 112 s');
      close(w2.utilization_b_in, (8 * 10_540) / 10 / 2e8);

      assert.equal(w3.vm_a, 'vm-a');
      assert.equal(w3.vm_b, 'vm-c', 'B\'s address belongs to vm-c from 118 s');
      assert.equal(w3.nic_capacity_b_bps, null);
      assert.equal(w3.utilization_b_in, null);
      assert.equal(w3.utilization_b_out_peak_1s, null);
      assert.equal(w3.nic_capacity_a_bps, 1_000_000_000n);

      const codec = new AvroCodec<FlowMetrics>(FLOW_METRICS_SCHEMA);
      for (const r of out) assert.deepEqual(codec.decode(codec.encode(r)), r);
    });

    it('an address no VM holds (or held only later) gives null VM, capacity and utilization', () => {
      const d = new TopologyTestDriver(metricsStage({ windowMs: 10_000, allowedLatenessMs: 1_000 }));
      d.pipeGlobal(INVENTORY_TABLE, 'vm-a', vm('vm-a', [A], 200, 1_000_000_000n)); // only from 200 s
      for (const p of burst(100)) d.pipeInput('k', p);
      d.endOfStream();
      const r = d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC)[0].value;
      assert.equal(r.vm_a, null);
      assert.equal(r.vm_b, null);
      assert.equal(r.nic_capacity_a_bps, null);
      assert.equal(r.utilization_a_out, null);
      assert.equal(r.utilization_b_in_peak_1s, null);
    });
  });

  it('keeps observation points apart', () => {
    const other = handshake(100).map((p) => ({ ...p, observation_point: 'mirror-2' }));
    const { out } = run([...handshake(100), ...other]);
    assert.equal(out.length, 2);
    for (const r of out) assert.equal(r.rtt_data_ab!.count, 1n);
  });
});

export type { RttStats };
