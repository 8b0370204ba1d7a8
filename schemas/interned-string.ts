/**
 * Avro `string`, read through a small cache of recent values. Packet batches repeat the same
 * few addresses and observation points record after record; a value found in the cache is the
 * same string object each time — no allocation, and its hash is already computed when it is
 * compared or looked up in a Map. Same wire format and validation as avsc's string; used by
 * the stages' projected readers (projection() in index.ts).
 */
import avro from 'avsc';

interface Tap { buf: Buffer; pos: number; readLong(): number; _invalidate(): void }

const SLOT_BITS = 12;
/** longer strings are rare in these records and not worth comparing byte by byte */
const MAX_CACHED = 48;
const slotBytes: (Buffer | undefined)[] = new Array(1 << SLOT_BITS);
const slotValues: string[] = new Array(1 << SLOT_BITS).fill('');

function readInterned(tap: Tap): string | undefined {
  const len = tap.readLong();
  if (len < 0) { tap._invalidate(); return ''; }
  const buf = tap.buf, pos = tap.pos, end = pos + len;
  tap.pos = end;
  if (end > buf.length) return undefined; // avsc reports the truncation after the read, as for its own strings
  if (len > MAX_CACHED) return buf.toString('utf8', pos, end);
  let h = len;
  for (let i = pos; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  const slot = (h ^ (h >>> 15)) & ((1 << SLOT_BITS) - 1);
  const known = slotBytes[slot];
  if (known !== undefined && known.length === len) {
    let same = true;
    for (let i = 0; i < len; i++) if (known[i] !== buf[pos + i]) { same = false; break; }
    if (same) return slotValues[slot];
  }
  const value = buf.toString('utf8', pos, end);
  slotBytes[slot] = Buffer.from(buf.subarray(pos, end));
  slotValues[slot] = value;
  return value;
}

export const InternedString: avro.Type = Object.create(avro.Type.forSchema('string'), { _read: { value: readInterned } });
