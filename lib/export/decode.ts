/**
 * PostgreSQL binary arrays (the output of array_send, i.e. the array type's binary "send" form)
 * -> Arrow Data, without going through JS values: numbers are copied from big-endian into the
 * typed arrays Arrow uses, text bytes are copied as they are. This is what makes a batch one
 * wire value per column instead of one protocol message per row (the embedded server spends
 * most of a plain SELECT's time handling row messages; docs/export.md has the numbers).
 *
 * Binary array layout: int32 ndim, int32 has-nulls, int32 element type oid, then per dimension
 * int32 size and int32 lower bound, then per element int32 length (-1 = NULL) and the bytes.
 */
import { Data, DataType, List, makeData } from 'apache-arrow';
import { TaplineError } from '../errors';
import type { WireKind } from './arrow-types';

/** PostgreSQL timestamps count microseconds from 2000-01-01, Arrow's from 1970-01-01. */
const PG_EPOCH_US = 946_684_800_000_000;
const PG_EPOCH_HI = Math.floor(PG_EPOCH_US / 2 ** 32);
const PG_EPOCH_LO = PG_EPOCH_US % 2 ** 32;
/** ...and dates count days from 2000-01-01, Arrow's DateDay from 1970-01-01. */
const PG_EPOCH_DAYS = 10_957;
const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

interface Elements {
  count: number;
  /** Byte position of each element's value, -1 for NULL. */
  pos: Int32Array;
  len: Int32Array;
  nulls: number;
}

/** Splits a binary array into element positions. An absent array (SQL NULL) has no elements. */
export function scanArray(buf: Buffer | null): Elements {
  if (buf === null || buf.length === 0) return { count: 0, pos: new Int32Array(0), len: new Int32Array(0), nulls: 0 };
  const ndim = buf.readInt32BE(0);
  let p = 12;
  let count = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++, p += 8) count *= buf.readInt32BE(p);
  const pos = new Int32Array(count);
  const len = new Int32Array(count);
  let nulls = 0;
  for (let i = 0; i < count; i++) {
    const l = buf.readInt32BE(p);
    p += 4;
    len[i] = l;
    if (l < 0) { pos[i] = -1; nulls++; } else { pos[i] = p; p += l; }
  }
  if (p !== buf.length) throw new TaplineError('INTERNAL', 'export', `binary array: ${buf.length - p} bytes left after ${count} elements`);
  return { count, pos, len, nulls };
}

function validity(e: Elements): Uint8Array | undefined {
  if (e.nulls === 0) return undefined;
  const bits = new Uint8Array((e.count + 7) >> 3);
  for (let i = 0; i < e.count; i++) if (e.pos[i] >= 0) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** One column of a batch: Arrow Data of `type` from a binary array of `wire` elements. */
export function decodeColumn(buf: Buffer | null, wire: WireKind, type: DataType): Data {
  return decodeElements(buf, scanArray(buf), wire, type);
}

function decodeElements(buf: Buffer | null, e: Elements, wire: WireKind, type: DataType): Data {
  const n = e.count;
  const nullBitmap = validity(e);
  const common = { type, length: n, nullCount: e.nulls, nullBitmap } as const;
  const b = buf as Buffer; // only dereferenced when n > 0
  switch (wire) {
    case 'bool': {
      const bits = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (e.pos[i] >= 0 && b[e.pos[i]] !== 0) bits[i >> 3] |= 1 << (i & 7);
      return makeData({ ...common, data: bits } as never);
    }
    case 'int16': {
      const v = new Int16Array(n);
      for (let i = 0; i < n; i++) if (e.pos[i] >= 0) v[i] = b.readInt16BE(e.pos[i]);
      return makeData({ ...common, data: v } as never);
    }
    case 'int32':
    case 'date': {
      const v = new Int32Array(n);
      const shift = wire === 'date' ? PG_EPOCH_DAYS : 0;
      for (let i = 0; i < n; i++) {
        if (e.pos[i] < 0) continue;
        const x = b.readInt32BE(e.pos[i]);
        // ±infinity dates are INT32_MAX/MIN in PostgreSQL: kept as they are, not shifted.
        v[i] = shift && (x === INT32_MAX || x === INT32_MIN) ? x : x + shift;
      }
      return makeData({ ...common, data: v } as never);
    }
    case 'int64':
    case 'timestamp': {
      // Written as two 32-bit halves (little-endian words) of the BigInt64Array: no BigInt per value.
      const v = new BigInt64Array(n);
      const w = new Int32Array(v.buffer);
      const shift = wire === 'timestamp';
      for (let i = 0; i < n; i++) {
        const p = e.pos[i];
        if (p < 0) continue;
        let hi = b.readInt32BE(p);
        let lo = b.readUInt32BE(p + 4);
        // ±infinity timestamps are INT64_MAX/MIN in PostgreSQL: kept, not shifted.
        const infinite = (hi === INT32_MAX && lo === 0xffffffff) || (hi === INT32_MIN && lo === 0);
        if (shift && !infinite) {
          lo += PG_EPOCH_LO;
          hi += PG_EPOCH_HI;
          if (lo >= 2 ** 32) { lo -= 2 ** 32; hi += 1; }
        }
        w[2 * i] = lo | 0;
        w[2 * i + 1] = hi;
      }
      return makeData({ ...common, data: v } as never);
    }
    case 'float32': {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) if (e.pos[i] >= 0) v[i] = b.readFloatBE(e.pos[i]);
      return makeData({ ...common, data: v } as never);
    }
    case 'float64': {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) if (e.pos[i] >= 0) v[i] = b.readDoubleBE(e.pos[i]);
      return makeData({ ...common, data: v } as never);
    }
    case 'utf8': {
      const offsets = new Int32Array(n + 1);
      let total = 0;
      for (let i = 0; i < n; i++) { if (e.pos[i] >= 0) total += e.len[i]; offsets[i + 1] = total; }
      const data = new Uint8Array(total);
      for (let i = 0; i < n; i++) if (e.pos[i] >= 0) b.copy(data, offsets[i], e.pos[i], e.pos[i] + e.len[i]);
      return makeData({ ...common, valueOffsets: offsets, data } as never);
    }
  }
}

/**
 * A list column: `lengths` is a binary int4 array with one entry per row (cardinality, NULL for
 * a NULL list), `elements` all rows' elements flattened in row order.
 */
export function decodeListColumn(lengths: Buffer | null, elements: Buffer | null, wire: WireKind, type: List): Data {
  const rows = scanArray(lengths);
  const offsets = new Int32Array(rows.count + 1);
  let total = 0;
  for (let i = 0; i < rows.count; i++) {
    if (rows.pos[i] >= 0) total += (lengths as Buffer).readInt32BE(rows.pos[i]);
    offsets[i + 1] = total;
  }
  const elems = scanArray(elements);
  if (elems.count !== total) throw new TaplineError('INTERNAL', 'export', `list column: ${total} elements expected, ${elems.count} received`);
  const child = decodeElements(elements, elems, wire, type.valueType);
  return makeData({ type, length: rows.count, nullCount: rows.nulls, nullBitmap: validity(rows), valueOffsets: offsets, child });
}
