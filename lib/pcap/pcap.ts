/**
 * Classic libpcap format (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/):
 * 24-byte file header, then 16-byte record headers. Magic a1b2c3d4 = microseconds,
 * a1b23c4d = nanoseconds, either byte order; a1b2cd34 is Kuznetsov's "modified" pcap with
 * 24-byte record headers (still written by some old Linux tools).
 */
import { TaplineError } from '../errors';
import type { ByteSource } from './source';
import type { CaptureRecord } from './types';

const NS = 1_000_000_000n;
/** libpcap's MAXIMUM_SNAPLEN: larger captured lengths mean the record header is garbage. */
export const MAX_SNAPLEN = 262144;
/** libpcap LT_LINKTYPE(): the upper bits carry the FCS length / FCS-present flag, not the type. */
export const LINKTYPE_MASK = 0x03ffffff;

export interface PcapHeader {
  le: boolean;
  nanos: boolean;
  modified: boolean;
  snaplen: number;
  linkType: number;
}

/** Parse the 24-byte header at src.buf[src.pos]; the caller has checked the magic family. */
export function parsePcapHeader(src: ByteSource): PcapHeader {
  const b = src.buf;
  const p = src.pos;
  const m = b.readUInt32LE(p);
  let le: boolean, nanos = false, modified = false;
  switch (m) {
    case 0xa1b2c3d4: le = true; break;
    case 0xd4c3b2a1: le = false; break;
    case 0xa1b23c4d: le = true; nanos = true; break;
    case 0x4d3cb2a1: le = false; nanos = true; break;
    case 0xa1b2cd34: le = true; modified = true; break;
    case 0x34cdb2a1: le = false; modified = true; break;
    default: throw new TaplineError('PCAP_UNSUPPORTED', 'pcap', `not a pcap file (magic 0x${m.toString(16)}) at offset 0`);
  }
  const major = le ? b.readUInt16LE(p + 4) : b.readUInt16BE(p + 4);
  if (major !== 2) {
    throw new TaplineError('PCAP_UNSUPPORTED', 'pcap', `pcap major version ${major} unsupported (only 2.x) at offset 4`);
  }
  const snaplen = le ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16);
  const lt = le ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20);
  return { le, nanos, modified, snaplen, linkType: lt & LINKTYPE_MASK };
}

export async function* pcapRecords(src: ByteSource, h: PcapHeader): AsyncGenerator<CaptureRecord> {
  src.pos += 24;
  const hdrLen = h.modified ? 24 : 16;
  const fracMul = h.nanos ? 1 : 1000;
  const maxCap = Math.max(h.snaplen, MAX_SNAPLEN);
  const le = h.le;
  for (;;) {
    if (src.avail() < hdrLen && !(await src.fill(hdrLen))) {
      if (src.avail() === 0) return;
      throw new TaplineError('PCAP_CORRUPT', 'pcap',
        `truncated record header at offset ${src.offset()}: ${src.avail()} of ${hdrLen} bytes present`);
    }
    const b = src.buf;
    const p = src.pos;
    const sec = le ? b.readUInt32LE(p) : b.readUInt32BE(p);
    const frac = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    const capLen = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    const wireLen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
    const offset = src.offset();
    if (capLen > maxCap) {
      throw new TaplineError('PCAP_CORRUPT', 'pcap',
        `record at offset ${offset} claims a ${capLen}-byte capture, more than the maximum ${maxCap} (corrupt record header)`);
    }
    const total = hdrLen + capLen;
    if (src.avail() < total && !(await src.fill(total))) {
      throw new TaplineError('PCAP_CORRUPT', 'pcap',
        `truncated record at offset ${offset}: needs ${total} bytes, file ends after ${src.avail()}`);
    }
    const start = src.pos + hdrLen;
    const data = src.buf.subarray(start, start + capLen);
    src.pos += total;
    yield {
      ts_ns: BigInt(sec) * NS + BigInt(frac * fracMul),
      linkType: h.linkType,
      capLen,
      wireLen,
      data,
      interfaceId: 0,
      interfaceName: null,
      offset,
    };
  }
}
