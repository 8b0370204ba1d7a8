/**
 * Kafka's default key partitioning (murmur2 of the key's UTF-8 bytes, made positive, modulo
 * the partition count), identical to the Java client's, so a producer that picks partitions
 * itself (batched packet topics) places a key exactly where any keyed producer would.
 * kafkajs has the same function, but it emulates 64-bit longs in objects and costs ~4 µs per
 * key; this one uses 32-bit integer arithmetic (Math.imul), as the Java original does.
 */
const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995;

/** Java's Utils.murmur2(byte[]) over the UTF-8 bytes of `key`. */
export function murmur2(key: string | Buffer): number {
  if (typeof key !== 'string') return murmur2Bytes(key);
  const length = key.length;
  let h = SEED ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    const c0 = key.charCodeAt(i4), c1 = key.charCodeAt(i4 + 1), c2 = key.charCodeAt(i4 + 2), c3 = key.charCodeAt(i4 + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return murmur2Bytes(Buffer.from(key, 'utf8')); // not ASCII: hash the UTF-8 bytes
    let k = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  for (let i = tail; i < length; i++) if (key.charCodeAt(i) > 0x7f) return murmur2Bytes(Buffer.from(key, 'utf8'));
  if (rest === 3) h ^= key.charCodeAt(tail + 2) << 16;
  if (rest >= 2) h ^= key.charCodeAt(tail + 1) << 8;
  if (rest >= 1) { h ^= key.charCodeAt(tail); h = Math.imul(h, M); }
  return finish(h);
}

function murmur2Bytes(data: Buffer): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    let k = data.readInt32LE(i << 2);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) { h ^= data[tail]; h = Math.imul(h, M); }
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: string | Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
