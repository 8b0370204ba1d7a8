import assert from 'node:assert/strict';
import { describeMessage } from './tail';
import { AvroCodec, allSchemas, rabinFingerprint } from '../../schemas';
import { emptyPacketSummary, type PacketSummary } from '../../schemas/types';

describe('tapline tail: message description', () => {
  const codecs = new Map([...allSchemas()].map(([name, s]) => [rabinFingerprint(s.canonical), new AvroCodec(name)]));

  it('decodes any tapline record by the fingerprint in its header', () => {
    const v = new AvroCodec<PacketSummary>('packet-summary.v1').encode({ ...emptyPacketSummary(), ts_ns: 7n, src_ip: '10.1.1.1' });
    const d = describeMessage({ offset: 3n, key: Buffer.from('k'), value: v, timestampMs: 0, headers: {} }, codecs);
    assert.equal(d.schema, 'packet-summary.v1');
    assert.equal((d.value as PacketSummary).src_ip, '10.1.1.1');
    assert.equal(d.offset, '3');
  });

  it('shows a dead letter raw, with the headers that say why', () => {
    const d = describeMessage({ offset: 0n, key: null, value: Buffer.from('junk'), timestampMs: 0,
      headers: { 'tapline.code': 'AVRO_DECODE', 'tapline.reason': 'not an Avro single-object message (4 bytes)' } }, codecs);
    assert.equal(d.raw, Buffer.from('junk').toString('base64'));
    assert.equal((d.headers as Record<string, string>)['tapline.code'], 'AVRO_DECODE');
  });

  it('says which schema failed when a known fingerprint has a corrupt body', () => {
    const v = new AvroCodec('flow-window.v1').encode({ window_start_ns: 0n, window_end_ns: 0n, flow_key: 'k', ip_proto: 6, addr_a: 'a', port_a: 1,
      addr_b: 'b', port_b: 2, packets_ab: 0n, bytes_ab: 0n, packets_ba: 0n, bytes_ba: 0n, syn_count: 0n, synack_count: 0n, fin_count: 0n,
      rst_count: 0n, zero_window_count: 0n, malformed_count: 0n, first_seen_ns: 0n, last_seen_ns: 0n, observation_point: 'x' });
    const d = describeMessage({ offset: 0n, key: null, value: v.subarray(0, 14), timestampMs: 0, headers: {} }, codecs);
    assert.equal(d.schema, 'flow-window.v1');
    assert.match(String(d.error), /corrupt flow-window\.v1/);
  });
});
