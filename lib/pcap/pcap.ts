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
/**
 * Whatever the header's snaplen says (a corrupt header may say 4 GiB), a record above this is
 * corruption, not something to buffer: the same bound as pcapng's largest block.
 */
const MAX_RECORD = 16 * 1024 * 1024;
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

/**
 * Classic pcap record parser, split so the caller's single async generator can loop without
 * an extra `yield*` hop per record: next() returns a record when the window holds one, null
 * when more bytes are needed (need() says how many), and throws PCAP_CORRUPT on a bad header.
 */
export class PcapParser {
  private readonly hdrLen: number;
  private readonly fracMul: number;
  private readonly maxCap: number;

  constructor(private readonly src: ByteSource, private readonly h: PcapHeader) {
    src.pos += 24;
    this.hdrLen = h.modified ? 24 : 16;
    this.fracMul = h.nanos ? 1 : 1000;
    this.maxCap = Math.min(Math.max(h.snaplen, MAX_SNAPLEN), MAX_RECORD);
  }

  /** bytes needed in the window for the next record */
  need(): number {
    const src = this.src;
    if (src.avail() < this.hdrLen) return this.hdrLen;
    const b = src.buf;
    const p = src.pos;
    const capLen = this.h.le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    return this.hdrLen + capLen;
  }

  /** at end of input: return normally on a clean end, throw when a record was cut */
  eof(): void {
    const src = this.src;
    if (src.avail() === 0) return;
    if (src.avail() < this.hdrLen) {
      throw new TaplineError('PCAP_CORRUPT', 'pcap',
        `truncated record header at offset ${src.offset()}: ${src.avail()} of ${this.hdrLen} bytes present`);
    }
    throw new TaplineError('PCAP_CORRUPT', 'pcap',
      `truncated record at offset ${src.offset()}: needs ${this.need()} bytes, file ends after ${src.avail()}`);
  }

  next(): CaptureRecord | null {
    const src = this.src;
    const hdrLen = this.hdrLen;
    if (src.buf.length - src.pos < hdrLen) return null;
    const b = src.buf;
    const p = src.pos;
    const le = this.h.le;
    const capLen = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
    if (capLen > this.maxCap) {
      throw new TaplineError('PCAP_CORRUPT', 'pcap',
        `record at offset ${src.offset()} claims a ${capLen}-byte capture, more than the maximum ${this.maxCap} (corrupt record header)`);
    }
    const total = hdrLen + capLen;
    if (b.length - p < total) return null;
    const sec = le ? b.readUInt32LE(p) : b.readUInt32BE(p);
    const frac = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    const wireLen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
    const offset = src.offset();
    src.pos = p + total;
    return {
      ts_ns: BigInt(sec) * NS + BigInt(frac * this.fracMul),
      linkType: this.h.linkType,
      capLen,
      wireLen,
      data: b.subarray(p + hdrLen, p + total),
      interfaceId: 0,
      interfaceName: null,
      offset,
    };
  }
}
