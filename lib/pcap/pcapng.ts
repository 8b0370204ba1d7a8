/**
 * pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/). Blocks are
 * type(4) length(4) body length(4). Each Section Header Block fixes the byte order and resets
 * the interface table; Interface Description Blocks give per-interface link type, snaplen,
 * timestamp resolution and name. Packets come in EPB, SPB (no timestamp, interface 0) and
 * the obsolete OPB. Unknown block types are skipped, as the spec requires.
 */
import { TaplineError } from '../errors';
import type { ByteSource } from './source';
import type { CaptureRecord } from './types';
import { LINKTYPE_MASK, MAX_SNAPLEN } from './pcap';

const SHB = 0x0a0d0d0a;
const IDB = 1;
const OPB = 2;
const SPB = 3;
const EPB = 6;
const BOM = 0x1a2b3c4d;
/** Blocks bigger than this are treated as corruption rather than buffered (bounded memory). */
const MAX_BLOCK = 16 * 1024 * 1024;

interface Iface {
  linkType: number;
  snaplen: number;
  name: string | null;
  /** ts units -> ns: ns = ts * mul / div + offsetNs. */
  mul: bigint;
  div: bigint;
  /** common microsecond case handled without BigInt shifts */
  micro: boolean;
  offsetNs: bigint;
}

function corrupt(msg: string): TaplineError {
  return new TaplineError('PCAP_CORRUPT', 'pcap', msg);
}

/**
 * Walk the options of a block body [start, end). Throws when an option runs past the end
 * (libpcap rejects such files: "option ... too long"). `onOpt` gets code, value offset, length.
 */
function walkOptions(b: Buffer, start: number, end: number, le: boolean, at: number,
  onOpt?: (code: number, off: number, len: number) => void): void {
  let o = start;
  while (o + 4 <= end) {
    const code = le ? b.readUInt16LE(o) : b.readUInt16BE(o);
    const len = le ? b.readUInt16LE(o + 2) : b.readUInt16BE(o + 2);
    if (code === 0) return;
    if (o + 4 + len > end) throw corrupt(`pcapng option ${code} of length ${len} overruns its block at offset ${at}`);
    onOpt?.(code, o + 4, len);
    o += 4 + ((len + 3) & ~3);
  }
}

function newIface(b: Buffer, p: number, len: number, le: boolean, at: number): Iface {
  if (len < 20) throw corrupt(`interface description block too short (${len}) at offset ${at}`);
  const lt = (le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8)) & LINKTYPE_MASK;
  const snaplen = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
  const ifc: Iface = { linkType: lt, snaplen, name: null, mul: 1000n, div: 1n, micro: true, offsetNs: 0n };
  walkOptions(b, p + 16, p + len - 4, le, at, (code, off, olen) => {
    if (code === 2) ifc.name = b.toString('utf8', off, off + olen);
    else if (code === 9 && olen >= 1) {
      // if_tsresol: MSB clear = 10^-n, set = 2^-n seconds per unit
      const v = b[off];
      const n = v & 0x7f;
      ifc.micro = false;
      if (v & 0x80) { ifc.mul = 1_000_000_000n; ifc.div = 1n << BigInt(n); }
      else if (n <= 9) { ifc.mul = 10n ** BigInt(9 - n); ifc.div = 1n; }
      else { ifc.mul = 1n; ifc.div = 10n ** BigInt(n - 9); }
      if (v === 6) ifc.micro = true;
    } else if (code === 14 && olen >= 8) {
      // if_tsoffset: seconds added to every timestamp of this interface
      const secs = le ? b.readBigInt64LE(off) : b.readBigInt64BE(off);
      ifc.offsetNs = secs * 1_000_000_000n;
    }
  });
  return ifc;
}

export async function* pcapngRecords(src: ByteSource): AsyncGenerator<CaptureRecord> {
  let le = true;
  let ifaces: Iface[] = [];
  for (;;) {
    if (src.avail() < 12 && !(await src.fill(12))) {
      if (src.avail() === 0) return;
      throw corrupt(`truncated pcapng block header at offset ${src.offset()}: ${src.avail()} of 12 bytes present`);
    }
    let b = src.buf;
    let p = src.pos;
    const at = src.offset();
    const rawType = b.readUInt32LE(p);
    if (rawType === SHB) {
      // The byte-order magic decides how to read everything in this section, the length included.
      const bom = b.readUInt32LE(p + 8);
      if (bom === BOM) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw corrupt(`section header block with bad byte-order magic 0x${bom.toString(16)} at offset ${at}`);
      ifaces = [];
    }
    const type = le ? rawType : b.readUInt32BE(p);
    const len = le ? b.readUInt32LE(p + 4) : b.readUInt32BE(p + 4);
    if (len < 12 || (len & 3) !== 0 || len > MAX_BLOCK) {
      throw corrupt(`pcapng block of type ${type} has invalid length ${len} at offset ${at}`);
    }
    if (src.avail() < len && !(await src.fill(len))) {
      throw corrupt(`truncated pcapng block of type ${type} at offset ${at}: needs ${len} bytes, file ends after ${src.avail()}`);
    }
    b = src.buf;
    p = src.pos;
    const trailer = le ? b.readUInt32LE(p + len - 4) : b.readUInt32BE(p + len - 4);
    if (trailer !== len) throw corrupt(`pcapng block at offset ${at}: trailing length ${trailer} != ${len}`);
    src.pos += len;

    if (type === SHB) {
      if (len < 28) throw corrupt(`section header block too short (${len}) at offset ${at}`);
      const major = le ? b.readUInt16LE(p + 12) : b.readUInt16BE(p + 12);
      if (major !== 1) throw new TaplineError('PCAP_UNSUPPORTED', 'pcap', `pcapng major version ${major} unsupported at offset ${at + 12}`);
      walkOptions(b, p + 24, p + len - 4, le, at);
      continue;
    }
    if (type === IDB) {
      ifaces.push(newIface(b, p, len, le, at));
      continue;
    }
    if (type !== EPB && type !== SPB && type !== OPB) continue;

    let ifId: number, capLen: number, wireLen: number, dataOff: number, hi = 0, lo = 0;
    if (type === SPB) {
      if (len < 16) throw corrupt(`simple packet block too short at offset ${at}`);
      ifId = 0;
      wireLen = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
      dataOff = p + 12;
    } else {
      if (len < 32) throw corrupt(`packet block too short (${len}) at offset ${at}`);
      if (type === EPB) ifId = le ? b.readUInt32LE(p + 8) : b.readUInt32BE(p + 8);
      else ifId = le ? b.readUInt16LE(p + 8) : b.readUInt16BE(p + 8);
      hi = le ? b.readUInt32LE(p + 12) : b.readUInt32BE(p + 12);
      lo = le ? b.readUInt32LE(p + 16) : b.readUInt32BE(p + 16);
      capLen = le ? b.readUInt32LE(p + 20) : b.readUInt32BE(p + 20);
      wireLen = le ? b.readUInt32LE(p + 24) : b.readUInt32BE(p + 24);
      dataOff = p + 28;
    }
    const ifc = ifaces[ifId];
    if (!ifc) throw corrupt(`packet block at offset ${at} references undefined interface ${ifId}`);
    if (type === SPB) {
      // SPB has no captured-length field: it is the original length cut to the IDB 0 snaplen.
      capLen = Math.min(wireLen, ifc.snaplen || wireLen, len - 16);
    } else if (capLen! > len - 32) {
      throw corrupt(`packet block at offset ${at}: captured length ${capLen!} exceeds the block (${len - 32} bytes)`);
    } else if (capLen! > Math.max(ifc.snaplen, MAX_SNAPLEN)) {
      throw corrupt(`packet block at offset ${at}: captured length ${capLen!} exceeds the maximum snaplen`);
    }
    let ts: bigint;
    if (type === SPB) ts = 0n;
    else if (ifc.micro) ts = BigInt(hi * 4294967296 + lo) * 1000n + ifc.offsetNs;
    else ts = (((BigInt(hi) << 32n) | BigInt(lo)) * ifc.mul) / ifc.div + ifc.offsetNs;
    yield {
      ts_ns: ts,
      linkType: ifc.linkType,
      capLen: capLen!,
      wireLen,
      data: b.subarray(dataOff, dataOff + capLen!),
      interfaceId: ifId,
      interfaceName: ifc.name,
      offset: at,
    };
  }
}
