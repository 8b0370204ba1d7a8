/** A 5-tuple reused for a new connection, and capture timestamps that go backwards around the handshake. */
import assert from 'node:assert/strict';
import type { PacketSummary } from '../../../schemas/types';
import { FLOW_METRICS_TOPIC, type FlowMetrics } from '../../../schemas/flow-metrics';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { metricsStage, type MetricsConfig, type MetricsPacket } from '.';
import { FIN, SYN, ACK, tcp } from './test-packets';

const S = 1_000_000_000n;
function run(packets: PacketSummary[], cfg: Partial<MetricsConfig> = {}): FlowMetrics[] {
  const d = new TopologyTestDriver<MetricsPacket>(metricsStage({ windowMs: 1_000, allowedLatenessMs: 100, ...cfg }));
  for (const p of packets) d.pipeInput('k', p);
  d.endOfStream();
  return d.readOutput<FlowMetrics>(FLOW_METRICS_TOPIC).map((o) => o.value);
}

/** a whole connection: handshake (10 ms server, 2 ms client), 100 bytes each way, FIN both ways */
function conn(t0: number, isnA: number, isnB: number): PacketSummary[] {
  return [
    tcp(t0, true, SYN, isnA, 0), tcp(t0 + 0.010, false, SYN | ACK, isnB, isnA + 1), tcp(t0 + 0.012, true, ACK, isnA + 1, isnB + 1),
    tcp(t0 + 0.1, true, ACK, isnA + 1, isnB + 1, 100), tcp(t0 + 0.11, false, ACK, isnB + 1, isnA + 101, 100),
    tcp(t0 + 0.12, true, ACK, isnA + 101, isnB + 101),
    tcp(t0 + 0.2, true, ACK | FIN, isnA + 101, isnB + 101), tcp(t0 + 0.21, false, ACK | FIN, isnB + 101, isnA + 102),
    tcp(t0 + 0.22, true, ACK, isnA + 102, isnB + 102),
  ];
}

describe('metrics stage: reused 5-tuples and handshake times', () => {
  it('a reused 5-tuple (new ISNs both ways) is a new connection: new handshake split, no retransmissions of the old one', () => {
    // the server's new ISN lies "behind" its old sequence space (more than 2^31 ahead = behind)
    const out = run([...conn(100, 1000, 5000), ...conn(102, 900_000, (5000 - 100_000) >>> 0)]);
    const second = out.find((r) => r.window_start_ns === 102n * S)!;
    assert.ok(second);
    assert.equal(second.tcp_ba!.retransmitted_segments, 0n, 'SYN-ACK and data of the new connection are not retransmissions');
    assert.equal(second.tcp_ab!.retransmitted_segments, 0n);
    assert.equal(second.tcp_ba!.acked_unseen_gaps, 0n);
    assert.equal(second.tcp_ab!.acked_unseen_gaps, 0n);
    assert.equal(Number(second.handshake_server_ns) / 1e6, 10);
    assert.equal(Number(second.handshake_client_ns) / 1e6, 2);
    assert.equal(Number(second.handshake_total_ns) / 1e6, 12);
  });

  it('capture timestamps going backwards across directions give no negative handshake times (as RTT samples: none)', () => {
    // the SYN-ACK carries an earlier timestamp than the SYN (two mirror sources slightly out of step)
    const out = run([tcp(100.003, true, SYN, 1000, 0), tcp(100.001, false, SYN | ACK, 5000, 1001), tcp(100.0005, true, ACK, 1001, 5001)]);
    const r = out[0];
    for (const k of ['handshake_server_ns', 'handshake_client_ns', 'handshake_total_ns'] as const) {
      assert.ok(r[k] === null || r[k]! >= 0n, `${k} = ${r[k]}`);
    }
    assert.equal(r.rtt_data_ab, null, 'the data -> ACK sample of the SYN is dropped the same way');
  });
});
