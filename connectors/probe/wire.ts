/**
 * The UDP echo datagram: magic "TLPB", version 1, 3 reserved bytes, a random session id (so a
 * prober ignores echoes meant for another prober) and a sequence number, then zero padding up
 * to the configured size. The responder answers only datagrams with this header, with the same
 * bytes (no amplification).
 */
export const PROBE_MAGIC = 0x544c5042; // "TLPB"
export const PROBE_VERSION = 1;
export const PROBE_HEADER_BYTES = 16;
export const DEFAULT_PROBE_PORT = 7040;

export function encodeProbe(session: number, seq: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(size, PROBE_HEADER_BYTES));
  b.writeUInt32BE(PROBE_MAGIC, 0);
  b[4] = PROBE_VERSION;
  b.writeUInt32BE(session >>> 0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  return b;
}

export function decodeProbe(b: Buffer): { session: number; seq: number } | null {
  if (b.length < PROBE_HEADER_BYTES || b.readUInt32BE(0) !== PROBE_MAGIC || b[4] !== PROBE_VERSION) return null;
  return { session: b.readUInt32BE(8), seq: b.readUInt32BE(12) };
}
