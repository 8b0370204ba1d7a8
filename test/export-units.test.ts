/**
 * Unit tests of the export's own logic: ISO time parsing to exact microseconds, the binary
 * PostgreSQL array decoder (against arrays encoded here by hand, byte for byte as array_send
 * lays them out) and the type mapping. The round trip against a real database is in
 * export-roundtrip.test.ts.
 */
import assert from 'node:assert/strict';
import { DataType, DateDay, Field, Int32, List, TimestampMicrosecond, Utf8, Int64, Bool, Float64, Int16, Float32, makeVector, Type } from 'apache-arrow';
import { microsToIso, microsToSql, parseTimeToMicros } from '../lib/export/time';
import { decodeColumn, decodeListColumn } from '../lib/export/decode';
import { columnMapping } from '../lib/export/arrow-types';
import { quoteIdent } from '../lib/export/plan';
import type { PgColumn } from '../lib/export/catalog';

const OID = { bool: 16, int2: 21, int4: 23, int8: 20, float4: 700, float8: 701, text: 25, timestamptz: 1184, date: 1082 } as const;

/** A 1-D binary array as array_send writes it; `null` elements get length -1. */
function binArray(elemOid: number, elems: (Buffer | null)[]): Buffer {
  const head = Buffer.alloc(20);
  head.writeInt32BE(1, 0);
  head.writeInt32BE(elems.some((e) => e === null) ? 1 : 0, 4);
  head.writeInt32BE(elemOid, 8);
  head.writeInt32BE(elems.length, 12);
  head.writeInt32BE(1, 16);
  const parts: Buffer[] = [head];
  for (const e of elems) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(e === null ? -1 : e.length, 0);
    parts.push(len);
    if (e) parts.push(e);
  }
  return Buffer.concat(parts);
}
const be = (bytes: number, write: (b: Buffer) => void) => { const b = Buffer.alloc(bytes); write(b); return b; };
const i64 = (v: bigint) => be(8, (b) => b.writeBigInt64BE(v));
const i32 = (v: number) => be(4, (b) => b.writeInt32BE(v));
const PG_EPOCH = 946_684_800_000_000n;

function raw(d: ReturnType<typeof decodeColumn>, i: number): unknown {
  return d.getValid(i) ? (d.values as ArrayLike<unknown>)[i] : null;
}

describe('export: time bounds', () => {
  it('parses ISO 8601 to exact microseconds, zone offsets applied, no zone = UTC', () => {
    assert.equal(parseTimeToMicros('1970-01-01T00:00:00Z'), 0n);
    assert.equal(parseTimeToMicros('1970-01-01'), 0n);
    assert.equal(parseTimeToMicros('2026-11-28T17:00:00.123456Z'), BigInt(Date.UTC(2026, 10, 28, 17)) * 1000n + 123456n);
    assert.equal(parseTimeToMicros('2026-11-28T18:00:00.123456+01:00'), parseTimeToMicros('2026-11-28T17:00:00.123456Z'));
    assert.equal(parseTimeToMicros('2026-11-28 12:30-0430'), parseTimeToMicros('2026-11-28T17:00Z'));
    assert.equal(parseTimeToMicros('2026-11-28T17:00:00.1'), parseTimeToMicros('2026-11-28T17:00:00.100000Z'));
    assert.equal(parseTimeToMicros('2026-11-28T17:00:00.123456000Z'), parseTimeToMicros('2026-11-28T17:00:00.123456Z'));
    assert.equal(parseTimeToMicros('1969-12-31T23:59:59.999999Z'), -1n);
    assert.equal(parseTimeToMicros('2024-02-29'), BigInt(Date.UTC(2024, 1, 29)) * 1000n);
  });

  it('rejects what is not a time, naming the parameter', () => {
    for (const bad of ['yesterday', '2026-13-01', '2026-02-30', '2025-02-29', '2026-11-28T24:00', '2026-11-28T17:00:00.1234567Z', '', '17:00', '2026-11-28T17:00+16:00', '0000-01-01']) {
      assert.throws(() => parseTimeToMicros(bad, 'from'), (e: Error & { code?: string }) => e.code === 'EXPORT_INVALID' && e.message.startsWith(`from "${bad}"`), bad);
    }
  });

  it('formats microseconds back for SQL and messages without losing any', () => {
    for (const s of ['2026-11-28T17:00:00.123456Z', '1969-12-31T23:59:59.999999Z', '1900-03-01T00:00:00.000001Z', '2000-01-01T00:00:00.000000Z']) {
      const us = parseTimeToMicros(s);
      assert.equal(microsToIso(us), s);
      assert.equal(parseTimeToMicros(microsToSql(us, true).replace('+00', 'Z')), us);
      assert.equal(parseTimeToMicros(microsToSql(us, false)), us);
    }
  });
});

describe('export: binary array decoding', () => {
  it('decodes every wire type, NULLs included, into the Arrow layout', () => {
    const ints = decodeColumn(binArray(OID.int8, [i64(1n), null, i64(-(2n ** 63n)), i64(2n ** 63n - 1n), i64(-5n)]), 'int64', new Int64());
    assert.equal(ints.length, 5);
    assert.equal(ints.nullCount, 1);
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => raw(ints, i)), [1n, null, -(2n ** 63n), 2n ** 63n - 1n, -5n]);

    const ts = decodeColumn(binArray(OID.timestamptz, [i64(0n), i64(-PG_EPOCH - 1n), i64(123_456_789_012_345n), i64(2n ** 63n - 1n)]), 'timestamp', new TimestampMicrosecond('UTC'));
    assert.deepEqual([0, 1, 2, 3].map((i) => raw(ts, i)), [PG_EPOCH, -1n, PG_EPOCH + 123_456_789_012_345n, 2n ** 63n - 1n], '2000 epoch -> 1970; infinity kept');

    const dates = decodeColumn(binArray(OID.date, [i32(0), i32(-10957), null]), 'date', new DateDay());
    assert.deepEqual([0, 1, 2].map((i) => raw(dates, i)), [10957, 0, null]);

    const small = decodeColumn(binArray(OID.int2, [be(2, (b) => b.writeInt16BE(-300)), be(2, (b) => b.writeInt16BE(32767))]), 'int16', new Int16());
    assert.deepEqual([raw(small, 0), raw(small, 1)], [-300, 32767]);
    const i4 = decodeColumn(binArray(OID.int4, [i32(-2147483648), null]), 'int32', new Int32());
    assert.deepEqual([raw(i4, 0), raw(i4, 1)], [-2147483648, null]);

    const f8 = decodeColumn(binArray(OID.float8, [be(8, (b) => b.writeDoubleBE(0.1)), be(8, (b) => b.writeDoubleBE(NaN)), be(8, (b) => b.writeDoubleBE(-Infinity))]), 'float64', new Float64());
    assert.deepEqual([raw(f8, 0), raw(f8, 1), raw(f8, 2)], [0.1, NaN, -Infinity]);
    const f4 = decodeColumn(binArray(OID.float4, [be(4, (b) => b.writeFloatBE(0.1))]), 'float32', new Float32());
    assert.equal(raw(f4, 0), Math.fround(0.1));

    const bools = decodeColumn(binArray(OID.bool, [Buffer.from([1]), Buffer.from([0]), null, Buffer.from([1])]), 'bool', new Bool());
    assert.deepEqual([...makeVector(bools)], [true, false, null, true]);

    const texts = decodeColumn(binArray(OID.text, [Buffer.from('10.0.0.1'), null, Buffer.from(''), Buffer.from('日本語 ✓')]), 'utf8', new Utf8());
    assert.deepEqual([...makeVector(texts)], ['10.0.0.1', null, '', '日本語 ✓']);
  });

  it('an absent or empty array is zero rows; trailing garbage is an error', () => {
    assert.equal(decodeColumn(null, 'int32', new Int32()).length, 0);
    const empty = Buffer.alloc(12); // ndim 0
    empty.writeInt32BE(OID.int4, 8);
    assert.equal(decodeColumn(empty, 'int32', new Int32()).length, 0);
    assert.throws(() => decodeColumn(Buffer.concat([binArray(OID.int4, [i32(1)]), Buffer.from([0])]), 'int32', new Int32()), /bytes left/);
  });

  it('decodes list columns from per-row lengths and flattened elements', () => {
    const type = new List(new Field('item', new Utf8(), true));
    const lengths = binArray(OID.int4, [i32(2), null, i32(0), i32(1)]);
    const elements = binArray(OID.text, [Buffer.from('a'), null, Buffer.from('::1')]);
    const v = makeVector(decodeListColumn(lengths, elements, 'utf8', type));
    assert.deepEqual([...v].map((x) => (x === null ? null : [...x])), [['a', null], null, [], ['::1']]);
    assert.throws(() => decodeListColumn(lengths, binArray(OID.text, [Buffer.from('a')]), 'utf8', type), /3 elements expected, 1 received/);
  });
});

describe('export: type mapping', () => {
  const col = (typname: string, elem: string | null = null, typtype = 'b'): PgColumn =>
    ({ name: 'x', declared: typname, typname, typtype, elem: elem ? { typname: elem, typtype: 'b' } : null, notNull: false });
  const show = (t: DataType) => String(t);

  it('maps PostgreSQL types to Arrow types and converts the rest in SQL', () => {
    const m = (c: PgColumn) => { const x = columnMapping(c); return [show(x.arrow), x.toWire('v')]; };
    assert.deepEqual(m(col('timestamptz')), ['Timestamp<MICROSECOND, UTC>', 'v']);
    assert.deepEqual(m(col('timestamp')), ['Timestamp<MICROSECOND>', 'v']);
    assert.deepEqual(m(col('int8')), ['Int64', 'v']);
    assert.deepEqual(m(col('int4')), ['Int32', 'v']);
    assert.deepEqual(m(col('int2')), ['Int16', 'v']);
    assert.deepEqual(m(col('float8')), ['Float64', 'v']);
    assert.deepEqual(m(col('bool')), ['Bool', 'v']);
    assert.deepEqual(m(col('numeric')), ['Float64', 'v::float8']);
    assert.deepEqual(m(col('inet')), ['Utf8', 'abbrev(v)']);
    assert.deepEqual(m(col('text')), ['Utf8', 'v::text']);
    assert.deepEqual(m(col('mood', null, 'e')), ['Utf8', 'v::text']);
    assert.deepEqual(m(col('jsonb')), ['Utf8', "format('%s', v)"]);
    assert.deepEqual(m(col('macaddr')), ['Utf8', "format('%s', v)"]);
    assert.deepEqual(m(col('_inet', 'inet')), ['List<Utf8>', 'abbrev(v)']);
    assert.deepEqual(m(col('_int8', 'int8')), ['List<Int64>', 'v']);
    assert.equal(columnMapping(col('json')).orderBy('v'), 'v::text', 'json has no ordering: sorted by its text');
    assert.equal(columnMapping(col('jsonb')).orderBy('v'), 'v');
    assert.equal(columnMapping(col('_int4', 'int4')).arrow.typeId, Type.List);
  });

  it('quotes identifiers so that no name can end the quoting', () => {
    assert.equal(quoteIdent('flow_windows'), '"flow_windows"');
    assert.equal(quoteIdent('a"; DROP TABLE x; --'), '"a""; DROP TABLE x; --"');
  });
});
