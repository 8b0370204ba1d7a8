/**
 * Stages that declare the fields they read get records decoded with a reduced reader schema
 * (Avro schema resolution): the same values as a full decode for those fields, nothing else,
 * the original on demand, and the same errors for bad input.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { readAll } from '../../lib/pcap';
import { decodeFrame } from '../../lib/decode';
import { isTaplineError } from '../../lib/errors';
import { AvroCodec } from '../../schemas';
import type { PacketSummary } from '../../schemas/types';
import { InputCodec } from './input-codec';
import { fuseStages } from './fuse';
import { originalValue, type StageDefinition } from './types';
import { aggregateStage, AGGREGATE_FIELDS } from '../stages/aggregate';
import { metricsStage, METRICS_FIELDS } from '../stages/metrics';
import { parseStage } from '../stages/parse';

const FILE = path.resolve(__dirname, '../../demo/bro-org-http.pcap');
const plain = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)));

function stage(fields?: readonly string[]): StageDefinition<PacketSummary> {
  const def = aggregateStage() as unknown as StageDefinition<PacketSummary>;
  return { ...def, input: { topic: 't', schema: 'packet-summary.v1', batchSchema: 'packet-batch.v1', ...(fields ? { fields } : {}) } };
}

describe('runtime: input projection', () => {
  it('decodes exactly the declared fields of every record of a real capture, with the full decode\'s values', async () => {
    const ps = (await readAll(FILE)).map((r) => decodeFrame(r, { observationPoint: 'projection' }));
    const fields = [...new Set([...AGGREGATE_FIELDS, ...METRICS_FIELDS])];
    const codec = new InputCodec(stage(fields));
    const buf = codec.encode(ps);
    const full = codec.decodeOriginal(buf), part = codec.decode(buf);
    assert.equal(part.length, ps.length);
    for (let i = 0; i < ps.length; i++) {
      assert.deepEqual(Object.keys(part[i]).sort(), [...fields].sort(), `record ${i}: only the declared fields`);
      const f = full[i] as unknown as Record<string, unknown>;
      assert.deepEqual(plain(part[i]), plain(Object.fromEntries(fields.map((k) => [k, f[k]]))), `record ${i}: the same values`);
    }
    // the original of any record, decoded once per message, only on request
    const message = codec.message(buf)!;
    const rec = { topic: 't', partition: 0, offset: 0n, key: null, value: part[7], timestampNs: 0n, message, index: 7 };
    assert.deepEqual(plain(originalValue(rec)), plain(full[7]));
    assert.ok(ps[7].src_mac);
    assert.equal((originalValue(rec) as PacketSummary).src_mac, ps[7].src_mac, 'a field no stage declared is there');
    assert.equal(originalValue({ ...rec, message: undefined, index: undefined }), part[7], 'without a message: the record itself');
  });

  it('without declared fields decodes whole records, and has no lazy message', async () => {
    const ps = (await readAll(FILE)).slice(0, 5).map((r) => decodeFrame(r, { observationPoint: 'projection' }));
    const codec = new InputCodec(stage());
    const buf = codec.encode(ps);
    const back = codec.decode(buf);
    assert.deepEqual(plain(back), plain(codec.decodeOriginal(buf)));
    assert.deepEqual(back.map((p) => [Object.keys(p).length, p.src_mac, p.wire_len]), ps.map((p) => [Object.keys(p).length, p.src_mac, p.wire_len]));
    assert.equal(codec.message(buf), null);
  });

  it('refuses a field the schema does not have, and bad bytes exactly as a full decode does', async () => {
    assert.throws(() => new InputCodec(stage(['ts_ns', 'src_ipp'])), (e: unknown) => isTaplineError(e) && e.code === 'CONFIG_INVALID' && /src_ipp/.test(e.message));
    const ps = (await readAll(FILE)).slice(0, 20).map((r) => decodeFrame(r, { observationPoint: 'projection' }));
    const codec = new InputCodec(stage(['ts_ns', 'src_ip']));
    const good = codec.encode(ps);
    const truncated = good.subarray(0, good.length - 30);
    const foreign = new AvroCodec('flow-window.v1').encode({ window_start_ns: 0n, window_end_ns: 1n, flow_key: 'k', ip_proto: 6, addr_a: 'a', port_a: 1,
      addr_b: 'b', port_b: 2, packets_ab: 0n, bytes_ab: 0n, packets_ba: 0n, bytes_ba: 0n, syn_count: 0, synack_count: 0, fin_count: 0, rst_count: 0,
      zero_window_count: 0, malformed_count: 0, first_seen_ns: 0n, last_seen_ns: 0n, observation_point: 'x' });
    for (const [name, bad] of [['truncated', truncated], ['foreign schema', foreign], ['not Avro', Buffer.from('hello world')]] as const) {
      assert.throws(() => codec.decode(bad), (e: unknown) => isTaplineError(e) && e.code === 'AVRO_DECODE', name);
      assert.throws(() => codec.decodeOriginal(bad), (e: unknown) => isTaplineError(e) && e.code === 'AVRO_DECODE', `${name} (full)`);
    }
  });

  it('a fused stage decodes the union of its parts\' fields, or everything when one part reads whole records', () => {
    const fused = fuseStages([aggregateStage(), metricsStage() as never]);
    assert.deepEqual([...fused.input.fields!].sort(), [...new Set([...AGGREGATE_FIELDS, ...METRICS_FIELDS])].sort());
    const withParse = fuseStages([aggregateStage(), parseStage() as never]);
    assert.equal(withParse.input.fields, undefined, 'parse reads payloads and more: no projection');
  });
});
