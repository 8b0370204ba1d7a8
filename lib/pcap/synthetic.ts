/**
 * Synthetic captures for what the shared corpus lacks (QinQ 0x88a8/0x9100, ERSPAN I, GRE with
 * key carrying IPv6, ICMP/ICMPv6 errors, AH/ESP, IPv6 fragments, SACK blocks, MPLS->IPv6,
 * BSD null/loop, LINKTYPE_IPV4, big-endian nanosecond pcap, gzip, pcapng with several sections,
 * both byte orders, SPB/OPB, power-of-2 if_tsresol and if_tsoffset). Written to a temp dir and
 * compared with tshark by test/decode-tshark.test.ts exactly like the corpus files.
 * Checksums are left 0: tshark does not verify them by default.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

const hex = (h: string) => Buffer.from(h.replace(/[^0-9a-f]/gi, ''), 'hex');
const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const cat = (...b: Uint8Array[]): Buffer => Buffer.concat(b);
const v4 = (a: string) => Buffer.from(a.split('.').map(Number));
function v6(a: string): Buffer {
  const [l, r] = a.split('::');
  const L = l ? l.split(':') : [];
  const R = r !== undefined && r ? r.split(':') : [];
  const mid = Array(8 - L.length - R.length).fill('0');
  return Buffer.concat([...L, ...(r !== undefined ? mid : []), ...R].map((w) => u16(parseInt(w, 16))));
}

const MACS = hex('02 00 00 00 00 02 02 00 00 00 00 01');
const eth = (type: number, payload: Buffer) => cat(MACS, u16(type), payload);

function ip4(proto: number, src: string, dst: string, payload: Buffer, o: { id?: number; ttl?: number; tos?: number; frag?: number } = {}): Buffer {
  return cat(Buffer.from([0x45, o.tos ?? 0]), u16(20 + payload.length), u16(o.id ?? 0x1234), u16(o.frag ?? 0x4000),
    Buffer.from([o.ttl ?? 64, proto]), u16(0), v4(src), v4(dst), payload);
}
function ip6(nh: number, src: string, dst: string, payload: Buffer, hlim = 64): Buffer {
  return cat(hex('60 0a bc de'), u16(payload.length), Buffer.from([nh, hlim]), v6(src), v6(dst), payload);
}
function tcp(sp: number, dp: number, seq: number, ack: number, flags: number, opts: Buffer = Buffer.alloc(0), payload: Buffer = Buffer.alloc(0)): Buffer {
  const pad = Buffer.alloc((4 - (opts.length % 4)) % 4, 1); // NOPs
  const o = cat(opts, pad);
  return cat(u16(sp), u16(dp), u32(seq), u32(ack), Buffer.from([((20 + o.length) / 4) << 4, flags]), u16(29200), u16(0), u16(0), o, payload);
}
const udp = (sp: number, dp: number, payload: Buffer) => cat(u16(sp), u16(dp), u16(8 + payload.length), u16(0), payload);
const echo = (type: number, id: number, seq: number) => cat(Buffer.from([type, 0]), u16(0), u16(id), u16(seq), Buffer.from('abcdefgh'));
const DNS = hex('1234 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001');

function ethFrames(): Buffer[] {
  const inner = eth(0x0800, ip4(1, '10.1.1.1', '10.1.1.2', echo(8, 7, 1)));
  const synOpts = hex('020405b4 0402 080a 00000064 00000000 030307');
  const sack = hex('0101 050a 00001000 00002000');
  const sack2 = hex('0101 0512 00001000 00002000 00003000 00004000');
  return [
    // QinQ 802.1ad outer + 802.1Q inner, DNS over UDP
    eth(0x88a8, cat(u16(100), u16(0x8100), u16(200), u16(0x0800), ip4(17, '192.0.2.1', '192.0.2.53', udp(40000, 53, DNS)))),
    // old-style QinQ 0x9100
    eth(0x9100, cat(u16(5), u16(0x0800), ip4(6, '192.0.2.1', '192.0.2.2', tcp(1234, 80, 1000, 0, 0x02, synOpts)))),
    // ERSPAN type I: GRE 0x88be without sequence number, Ethernet directly
    eth(0x0800, ip4(47, '198.51.100.1', '198.51.100.2', cat(u16(0x0000), u16(0x88be), inner))),
    // GRE with key carrying IPv6 / TCP SYN with options
    eth(0x0800, ip4(47, '198.51.100.1', '198.51.100.3', cat(u16(0x2000), u16(0x86dd), u32(0x1234),
      ip6(6, '2001:db8::1', '2001:db8::2', tcp(5555, 443, 0xfffffff0, 0, 0x02, synOpts))))),
    // ICMP port unreachable quoting IPv4/UDP
    eth(0x0800, ip4(1, '192.0.2.53', '192.0.2.1', cat(hex('0303 0000 00000000'), ip4(17, '192.0.2.1', '192.0.2.53', udp(40000, 53, DNS)).subarray(0, 28)))),
    // ICMPv6 destination unreachable quoting IPv6/TCP
    eth(0x86dd, ip6(58, '2001:db8::2', '2001:db8::1', cat(hex('0104 0000 00000000'), ip6(6, '2001:db8::1', '2001:db8::2', tcp(5555, 443, 1, 0, 0x02)).subarray(0, 48)))),
    // IPv6 with AH then TCP ACK carrying SACK blocks
    eth(0x86dd, ip6(51, '2001:db8::1', '2001:db8::2', cat(hex('06 04 0000 00000100 00000001'), hex('00000000 00000000 00000000'),
      tcp(5555, 443, 7, 9, 0x10, sack2)))),
    // IPv6 ESP: recognised, not decrypted
    eth(0x86dd, ip6(50, '2001:db8::1', '2001:db8::2', hex('00000100 00000001 deadbeef cafebabe'))),
    // IPv4 TCP with one SACK block and payload
    eth(0x0800, ip4(6, '192.0.2.1', '192.0.2.2', tcp(80, 1234, 5000, 6000, 0x18, sack, Buffer.from('HTTP/1.1 200 OK\r\n')), { tos: 0xb8, ttl: 3 })),
    // IPv6 fragments: first (offset 0, M) with UDP header, then offset 8
    eth(0x86dd, ip6(44, '2001:db8::1', '2001:db8::2', cat(hex('11 00 0001 0000abcd'), udp(1000, 2000, Buffer.alloc(24, 7)).subarray(0, 16)))),
    eth(0x86dd, ip6(44, '2001:db8::1', '2001:db8::2', cat(hex('11 00 0010 0000abcd'), Buffer.alloc(16, 7)))),
    // IPv4 non-first fragment
    eth(0x0800, ip4(17, '192.0.2.1', '192.0.2.2', Buffer.alloc(32, 9), { frag: 0x0003 })),
    // MPLS two labels -> IPv6 UDP
    eth(0x8847, cat(hex('00064 0 40'), hex('00065 1 40'), ip6(17, 'fe80::1', 'ff02::fb', udp(5353, 5353, DNS)))),
    // IPv4-mapped and zero-compressed addresses
    eth(0x86dd, ip6(17, '::ffff:c000:201', '2001:db8:0:0:1::1', udp(1, 2, Buffer.alloc(4)))),
  ];
}

function pcap(linkType: number, frames: Buffer[], o: { be?: boolean; nanos?: boolean } = {}): Buffer {
  const w32 = (v: number) => { const b = Buffer.alloc(4); o.be ? b.writeUInt32BE(v) : b.writeUInt32LE(v); return b; };
  const w16 = (v: number) => { const b = Buffer.alloc(2); o.be ? b.writeUInt16BE(v) : b.writeUInt16LE(v); return b; };
  const parts: Buffer[] = [w32(o.nanos ? 0xa1b23c4d : 0xa1b2c3d4), w16(2), w16(4), w32(0), w32(0), w32(65535), w32(linkType)];
  frames.forEach((f, i) => parts.push(w32(1_700_000_000 + i), w32(o.nanos ? 123_456_789 + i : 123_456 + i), w32(f.length), w32(f.length), f));
  return Buffer.concat(parts);
}

/** pcapng block with the given byte order */
function block(le: boolean, type: number, body: Buffer): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const len = 12 + body.length + pad.length;
  const w = (v: number) => { const b = Buffer.alloc(4); le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0); return b; };
  return cat(w(type), w(len), body, pad, w(len));
}
function pcapng(): Buffer {
  const out: Buffer[] = [];
  for (const le of [true, false]) {
    const w32 = (v: number) => { const b = Buffer.alloc(4); le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0); return b; };
    const w16 = (v: number) => { const b = Buffer.alloc(2); le ? b.writeUInt16LE(v) : b.writeUInt16BE(v); return b; };
    const opt = (code: number, v: Buffer) => cat(w16(code), w16(v.length), v, Buffer.alloc((4 - (v.length % 4)) % 4));
    out.push(block(le, 0x0a0d0d0a, cat(w32(0x1a2b3c4d), w16(1), w16(0), hex('ffffffffffffffff'))));
    // if 0: Ethernet, µs, snaplen 80 (SPB cut); if 1: Ethernet, 2^-20 s units, +10 s offset; if 2: raw IPv4
    const off = Buffer.alloc(8); le ? off.writeBigInt64LE(10n) : off.writeBigInt64BE(10n);
    out.push(block(le, 1, cat(w16(1), w16(0), w32(80), opt(2, Buffer.from(le ? 'eth0' : 'be0')), opt(9, Buffer.from([6])), w32(0))));
    out.push(block(le, 1, cat(w16(1), w16(0), w32(65535), opt(2, Buffer.from('pow2')), opt(9, Buffer.from([0x80 | 20])), opt(14, off), w32(0))));
    out.push(block(le, 1, cat(w16(228), w16(0), w32(65535), opt(9, Buffer.from([9])), w32(0))));
    out.push(block(le, 0x0bad, Buffer.from('unknown block type, skipped'))); // custom/unknown block
    const f = ethFrames();
    const ts = (v: bigint) => cat(w32(Number(v >> 32n)), w32(Number(v & 0xffffffffn)));
    out.push(block(le, 6, cat(w32(0), ts(1_700_000_000_123_456n), w32(f[0].length), w32(f[0].length), f[0])));
    out.push(block(le, 6, cat(w32(1), ts(1_700_000_000n << 20n | 524288n), w32(f[1].length), w32(f[1].length), f[1])));
    const big = f[8];
    out.push(block(le, 3, cat(w32(big.length), big.subarray(0, 80))));
    out.push(block(le, 2, cat(w16(1), w16(0), ts((1_700_000_001n << 20n) + 1024n), w32(f[3].length), w32(f[3].length), f[3])));
    const raw = ip4(1, '203.0.113.1', '203.0.113.2', echo(0, 9, 9));
    out.push(block(le, 6, cat(w32(2), ts(1_700_000_002_000_000_001n), w32(raw.length), w32(raw.length), raw)));
  }
  return Buffer.concat(out);
}

/** Write the synthetic captures; returns their paths. */
export function writeSyntheticCaptures(): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tapline-synth-'));
  const files: [string, Buffer][] = [
    ['synthetic-ethernet.pcap', pcap(1, ethFrames())],
    ['synthetic-ethernet-be-ns.pcap', pcap(1, ethFrames(), { be: true, nanos: true })],
    ['synthetic-ethernet.pcap.gz', zlib.gzipSync(pcap(1, ethFrames()))],
    ['synthetic-null.pcap', pcap(0, [
      cat(hex('02000000'), ip4(17, '127.0.0.1', '127.0.0.1', udp(1, 53, DNS))),
      cat(hex('1e000000'), ip6(58, '::1', '::1', echo(128, 3, 4))),
      cat(hex('00000002'), ip4(6, '127.0.0.1', '127.0.0.2', tcp(9, 10, 11, 12, 0x11))), // NULL written on a big-endian host
    ])],
    ['synthetic-loop.pcap', pcap(108, [cat(hex('00000002'), ip4(6, '10.9.9.9', '10.9.9.8', tcp(4000, 5000, 1, 2, 0x18, Buffer.alloc(0), Buffer.from('abc'))))])],
    ['synthetic-ipv4.pcap', pcap(228, [ip4(1, '203.0.113.1', '203.0.113.2', echo(8, 1, 2))])],
    ['synthetic-sections.pcapng', pcapng()],
  ];
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data);
  return files.map(([name]) => path.join(dir, name));
}
