import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AvroCodec, SCHEMA_DIR, rabinFingerprint, schemaJson } from '.';
import { emptyPacketSummary, type PacketSummary } from './types';
import { TaplineError } from '../lib/errors';

describe('Avro schemas', () => {
  it('every .avsc parses and carries a versioned name', () => {
    const files = fs.readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.avsc'));
    assert.ok(files.length >= 2);
    for (const f of files) {
      assert.match(f, /\.v\d+\.avsc$/);
      assert.doesNotThrow(() => new AvroCodec(f.replace(/\.avsc$/, '')), f);
    }
  });

  it('the TypeScript PacketSummary has exactly the schema\'s fields (no drift)', () => {
    const fields = (schemaJson('packet-summary.v1') as { fields: { name: string }[] }).fields.map((f) => f.name).sort();
    assert.deepEqual(Object.keys(emptyPacketSummary()).sort(), fields);
  });

  it('round-trips nanosecond timestamps beyond 2^53 exactly (BigInt longs)', () => {
    const codec = new AvroCodec<PacketSummary>('packet-summary.v1');
    const p: PacketSummary = { ...emptyPacketSummary(), ts_ns: 1_700_000_000_123_456_789n, tcp_seq: 4_294_967_295, src_ip: '10.0.0.1', vlan_ids: [10, 20], payload_prefix: Buffer.from('GET /') };
    const back = codec.decode(codec.encode(p));
    assert.equal(back.ts_ns, 1_700_000_000_123_456_789n);
    assert.equal(back.tcp_seq, 4_294_967_295n);
    assert.deepEqual(back.vlan_ids, [10, 20]);
    assert.equal(back.payload_prefix?.toString(), 'GET /');
  });

  it('computes the CRC-64-AVRO fingerprint of the specification\'s example', () => {
    // The Avro spec's reference: fingerprint64 of the canonical form "int" is 0x7275d51a3f395c8f.
    assert.equal(rabinFingerprint('"int"'), 0x7275d51a3f395c8fn);
  });

  it('frames records with the single-object header and rejects foreign or corrupt messages', () => {
    const packets = new AvroCodec<PacketSummary>('packet-summary.v1');
    const flows = new AvroCodec('flow-window.v1');
    const buf = packets.encode({ ...emptyPacketSummary(), ts_ns: 1n });
    assert.deepEqual([...buf.subarray(0, 2)], [0xc3, 0x01]);
    assert.throws(() => flows.decode(buf), (e: unknown) => e instanceof TaplineError && e.code === 'AVRO_DECODE' && /fingerprint/.test(e.message));
    assert.throws(() => packets.decode(Buffer.from('{"json":true}')), (e: unknown) => e instanceof TaplineError && e.code === 'AVRO_DECODE');
    assert.throws(() => packets.decode(buf.subarray(0, 14)), (e: unknown) => e instanceof TaplineError && /corrupt/.test(e.message));
    assert.throws(() => packets.encode({ ...emptyPacketSummary(), ts_ns: 'soon' } as unknown as PacketSummary), (e: unknown) => e instanceof TaplineError && e.code === 'AVRO_ENCODE');
  });

  it('keeps schema files and codec names in one folder', () => {
    assert.ok(fs.existsSync(path.join(SCHEMA_DIR, 'flow-window.v1.avsc')));
  });
});

describe('BigInt long encoding', () => {
  const t = avscLong();
  function avscLong() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const avro = require('avsc') as typeof import('avsc');
    return { ours: new AvroCodec('flow-window.v1').type, plain: avro.Type.forSchema('long') };
  }
  it('writes the same bytes as the Avro spec\'s zig-zag varint and reads back every edge value', () => {
    const { BigIntLong } = require('./bigint-long') as typeof import('./bigint-long');
    const cases = [0n, 1n, -1n, 63n, -64n, 64n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n) - 1n,
      1_700_000_000_123_456_789n, 2n ** 63n - 1n, -(2n ** 63n), 4_294_967_295n,
      // the reader keeps the BigInt of the last high half: same high half, then another, then back
      1_700_000_000_123_456_790n, 1_700_000_000_123_456_789n + 2n ** 32n, 1_700_000_000_123_456_791n, -1_700_000_000_123_456_791n,
      2n ** 53n + 1n, 2n ** 62n, 2n ** 62n + 2n ** 31n, 3n * 2n ** 32n + 5n,
      // avsc's own number writer loses the sign of these (its zig-zag is floating point)
      -5_414_875_034_976_825n, -(2n ** 52n) - 1n, -(2n ** 53n) + 1n, 2n ** 52n + 1n];
    for (const v of cases) {
      const buf = BigIntLong.toBuffer(v);
      assert.equal(BigIntLong.fromBuffer(buf), v, `round trip ${v}`);
      if (v >= -(2n ** 52n) && v <= 2n ** 52n) assert.deepEqual(buf, t.plain.toBuffer(Number(v)), `same bytes as avsc for ${v}`);
      // Reference varint from the spec: zig-zag then 7 bits per byte, low first.
      let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
      const ref: number[] = [];
      do { let b = Number(z & 0x7fn); z >>= 7n; if (z) b |= 0x80; ref.push(b); } while (z);
      assert.deepEqual([...buf], ref, `spec bytes for ${v}`);
    }
    assert.equal(BigIntLong.fromBuffer(BigIntLong.toBuffer(42)), 42n, 'numbers are accepted on write');
    assert.equal(BigIntLong.fromBuffer(BigIntLong.toBuffer(-5_414_875_034_976_825)), -5_414_875_034_976_825n, 'large negative numbers too');
    assert.throws(() => BigIntLong.toBuffer(2n ** 63n), /invalid "long"/);
    assert.throws(() => BigIntLong.toBuffer(1.5 as unknown as bigint), /invalid "long"/);
    assert.ok(t.ours);
  });
});
