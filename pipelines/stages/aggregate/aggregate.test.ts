import assert from 'node:assert/strict';
import { TopologyTestDriver } from '../../runtime/test-driver';
import { emptyPacketSummary, type FlowWindow, type PacketSummary } from '../../../schemas/types';
import avro from 'avsc';
import { aggregateStage } from '.';
import { schemaJson } from '../../../schemas';
import { BigIntLong } from '../../../schemas/bigint-long';

const S = 1_000_000_000n;

function pkt(tsSec: number, src: string, sport: number, dst: string, dport: number, len: number, extra: Partial<PacketSummary> = {}): PacketSummary {
  return { ...emptyPacketSummary(), ts_ns: BigInt(Math.round(tsSec * 1e6)) * 1000n, observation_point: 'test', ip_version: 4,
    src_ip: src, dst_ip: dst, src_port: sport, dst_port: dport, ip_proto: 6, wire_len: len, cap_len: len, ...extra };
}

describe('aggregate stage (in-memory driver)', () => {
  const stage = () => aggregateStage({ windowMs: 10_000, allowedLatenessMs: 2_000 });

  it('puts both directions of a connection into one record per window', () => {
    const d = new TopologyTestDriver(stage());
    d.pipeInput('k', pkt(100.0, '10.0.0.2', 40000, '10.0.0.1', 80, 60));
    d.pipeInput('k', pkt(100.1, '10.0.0.1', 80, '10.0.0.2', 40000, 1500));
    d.pipeInput('k', pkt(100.2, '10.0.0.2', 40000, '10.0.0.1', 80, 52));
    assert.equal(d.readOutput('tapline.flows.v1').length, 0, 'nothing emitted while the window is open');
    d.endOfStream();
    const out = d.readOutput<FlowWindow>('tapline.flows.v1');
    assert.equal(out.length, 1);
    const w = out[0].value;
    assert.equal(w.addr_a, '10.0.0.1'); assert.equal(w.port_a, 80);
    assert.equal(w.packets_ab, 1n); assert.equal(w.bytes_ab, 1500n);
    assert.equal(w.packets_ba, 2n); assert.equal(w.bytes_ba, 112n);
    assert.equal(w.window_start_ns, 100n * S);
    assert.equal(w.window_end_ns, 110n * S);
    assert.equal(w.first_seen_ns, 100n * S);
    assert.equal(out[0].key, '6|10.0.0.1|80|10.0.0.2|40000');
  });

  it('closes a window when stream time passes end + allowed lateness, not before', () => {
    const d = new TopologyTestDriver(stage());
    d.pipeInput('a', pkt(101, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    d.pipeInput('a', pkt(111.9, '10.0.0.1', 1, '10.0.0.2', 2, 100)); // 110 + 2 s lateness not reached
    assert.equal(d.readOutput('tapline.flows.v1').length, 0);
    d.pipeInput('a', pkt(112.0, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    const out = d.readOutput<FlowWindow>('tapline.flows.v1');
    assert.equal(out.length, 1);
    assert.equal(out[0].value.window_start_ns, 100n * S);
    assert.equal(out[0].value.packets_ab, 1n);
  });

  it('accepts out-of-order records within the lateness and sends later ones to the late topic', () => {
    const d = new TopologyTestDriver(stage());
    d.pipeInput('a', pkt(105, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    d.pipeInput('a', pkt(111, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    d.pipeInput('a', pkt(109, '10.0.0.1', 1, '10.0.0.2', 2, 70)); // out of order but window still open
    d.pipeInput('a', pkt(125, '10.0.0.1', 1, '10.0.0.2', 2, 100)); // closes [100,110) and [110,120)
    // too late; its fields the stage does not read (MACs, VLANs, TTL, payload...) must still reach the late topic
    const tooLate = pkt(108, '10.0.0.1', 1, '10.0.0.2', 2, 999, { src_mac: '02:00:00:00:00:01', dst_mac: '02:00:00:00:00:02', vlan_ids: [7],
      ip_ttl: 63, ip_id: 4242n, cap_len: 128, payload_prefix: Buffer.from('GET / HTTP/1.1'), tcp_seq: 17n });
    d.pipeInput('a', tooLate);
    const flows = d.readOutput<FlowWindow>('tapline.flows.v1');
    assert.deepEqual(flows.map((f) => [f.value.window_start_ns, f.value.bytes_ab]), [[100n * S, 170n], [110n * S, 100n]]);
    const late = d.readOutput<PacketSummary>('tapline.late.v1');
    assert.equal(late.length, 1);
    assert.deepEqual({ ...late[0].value }, tooLate, 'the late packet exactly as sent, every field');
    assert.equal(d.metrics.droppedByReason.get('late'), 1);
  });

  it('counts, and does not crash on, a late packet whose unread fields do not decode', () => {
    // A writer with a seventh tunnel type: index 6 is out of range for packet-summary.v1. The
    // stage decodes only the fields it reads, so the packet is read; its original is not.
    const ps = schemaJson('packet-summary.v1') as { fields: { name: string; type: unknown }[] };
    const bogus = { ...ps, fields: ps.fields.map((f) => (f.name === 'tunnel_type'
      ? { ...f, type: ['null', { type: 'enum', name: 'TunnelType', symbols: ['VXLAN', 'GENEVE', 'GRE', 'ERSPAN_I', 'ERSPAN_II', 'ERSPAN_III', 'BOGUS'] }] } : f)) };
    const writer = avro.Type.forSchema({ type: 'record', name: 'PacketBatch', namespace: 'tapline.v1', fields: [{ name: 'records', type: { type: 'array', items: bogus } }] } as avro.Schema,
      { registry: { long: BigIntLong } as never, wrapUnions: false });
    const d = new TopologyTestDriver(stage());
    const header = d.encodeInput([pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 1)]).subarray(0, 10); // single-object header of packet-batch.v1
    d.pipeInput('a', pkt(125, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    const late = pkt(101, '10.0.0.1', 1, '10.0.0.2', 2, 70, { tunnel_type: 'BOGUS' as never, tunnel_id: 5n });
    const onTime = pkt(126, '10.0.0.1', 1, '10.0.0.2', 2, 30, { tunnel_type: 'BOGUS' as never, tunnel_id: 5n });
    d.pipeRaw('a', Buffer.concat([header, writer.toBuffer({ records: [late, onTime] })]));
    d.endOfStream();
    assert.equal(d.readOutput('tapline.late.v1').length, 0, 'no original to forward');
    assert.equal(d.metrics.droppedByReason.get('late'), 1);
    assert.equal(d.metrics.errorsByCode.get('AVRO_DECODE'), 1, 'counted');
    const flows = d.readOutput<FlowWindow>('tapline.flows.v1').map((f) => [f.value.window_start_ns, f.key, f.value.bytes_ab]);
    assert.deepEqual(flows, [[120n * S, '6|10.0.0.1|1|10.0.0.2|2', 100n], [120n * S, '6|10.0.0.1|1|10.0.0.2|2|t5', 30n]], 'the packet on time is counted: the stage does not read the bad field');
  });

  it('scales sampled packets by their sampling rate and counts non-IP frames as dropped', () => {
    const d = new TopologyTestDriver(stage());
    d.pipeInput('a', pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 100, { sampling_rate: 512 }));
    d.pipeInput('a', { ...pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 60), src_ip: null, dst_ip: null });
    d.endOfStream();
    const [w] = d.readOutput<FlowWindow>('tapline.flows.v1');
    assert.equal(w.value.packets_ab, 512n);
    assert.equal(w.value.bytes_ab, 51200n);
    assert.equal(d.metrics.droppedByReason.get('not-ip'), 1);
  });

  it('keeps separate records per observation point and per tunnel id', () => {
    const d = new TopologyTestDriver(stage());
    d.pipeInput('a', pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 100, { observation_point: 'host-a' }));
    d.pipeInput('a', pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 100, { observation_point: 'host-b' }));
    d.pipeInput('a', pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 100, { observation_point: 'host-b', tunnel_id: 7 }));
    d.endOfStream();
    assert.equal(d.readOutput('tapline.flows.v1').length, 3);
  });

  it('keeps state only in its named store and empties it when windows close', () => {
    const d = new TopologyTestDriver(stage());
    d.pipeInput('a', pkt(100, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    assert.equal(d.store('flow-windows').size, 1);
    d.endOfStream();
    assert.equal(d.store('flow-windows').size, 0);
  });
});

describe('aggregate stage TCP counts', () => {
  it('counts SYN, SYN-ACK, FIN, RST and zero windows per flow window, scaled by sampling', () => {
    const d = new TopologyTestDriver(aggregateStage({ windowMs: 10_000, allowedLatenessMs: 0 }));
    const tcp = (ts: number, flags: number, window = 1000, extra: Partial<PacketSummary> = {}) =>
      pkt(ts, '10.0.0.2', 40000, '10.0.0.1', 80, 60, { tcp_flags: flags, tcp_window: window, ...extra });
    d.pipeInput('k', tcp(100.0, 0x02));
    d.pipeInput('k', { ...tcp(100.1, 0x12), src_ip: '10.0.0.1', src_port: 80, dst_ip: '10.0.0.2', dst_port: 40000 });
    d.pipeInput('k', tcp(100.2, 0x10, 0));
    d.pipeInput('k', tcp(100.3, 0x14, 0)); // RST with window 0 is not a zero-window event
    d.pipeInput('k', tcp(100.4, 0x11, 1000, { sampling_rate: 10 }));
    d.pipeInput('k', tcp(100.5, 0x10, 1000, { malformed: 'truncated-tcp' }));
    d.endOfStream();
    const [w] = d.readOutput<FlowWindow>('tapline.flows.v1').map((o) => o.value);
    assert.deepEqual([w.syn_count, w.synack_count, w.fin_count, w.rst_count, w.zero_window_count, w.malformed_count], [1n, 1n, 10n, 1n, 1n, 1n]);
  });
});

describe('aggregate stage hopping windows', () => {
  it('counts each packet in every overlapping window of size/advance', () => {
    const d = new TopologyTestDriver(aggregateStage({ windowMs: 60_000, advanceMs: 10_000, allowedLatenessMs: 0 }));
    d.pipeInput('k', pkt(125, '10.0.0.1', 1, '10.0.0.2', 2, 100));
    d.pipeInput('k', pkt(131, '10.0.0.1', 1, '10.0.0.2', 2, 50));
    d.endOfStream();
    const got = d.readOutput<FlowWindow>('tapline.flows.v1').map((o) => [Number(BigInt(o.value.window_start_ns) / S), Number(o.value.bytes_ab), Number(BigInt(o.value.window_end_ns) - BigInt(o.value.window_start_ns)) / 1e9]);
    assert.deepEqual(got, [[70, 100, 60], [80, 150, 60], [90, 150, 60], [100, 150, 60], [110, 150, 60], [120, 150, 60], [130, 50, 60]]);
  });
});
