/** Test helpers: hand-built packets and payloads for the parse stage's tests. */
import { emptyPacketSummary, type PacketSummary } from '../../../schemas/types';

/** A packet summary whose payload prefix is `payload` (cut to `prefix` bytes when given). */
export function pkt(tsSec: number, src: string, sport: number, dst: string, dport: number, proto: 6 | 17, payload: Buffer,
  extra: Partial<PacketSummary> & { prefix?: number } = {}): PacketSummary {
  const { prefix, ...rest } = extra;
  return {
    ...emptyPacketSummary(), ts_ns: BigInt(Math.round(tsSec * 1e6)) * 1000n, observation_point: 'test', ip_version: 4,
    src_ip: src, dst_ip: dst, src_port: sport, dst_port: dport, ip_proto: proto, wire_len: 54 + payload.length, cap_len: 54 + payload.length,
    l4_payload_len: payload.length, payload_prefix: prefix === undefined ? payload : payload.subarray(0, prefix),
    ...(proto === 6 ? { tcp_flags: 0x18, tcp_seq: 1000, tcp_ack: 1 } : {}),
    ...rest,
  };
}

function name(n: string): Buffer {
  const parts = n.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

export function dnsMsg(id: number, qname: string, o: { response?: boolean; rcode?: number; answers?: number; qtype?: number } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE((o.response ? 0x8180 : 0x0100) | (o.rcode ?? 0), 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(o.answers ?? 0, 6);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(o.qtype ?? 1, 0);
  q.writeUInt16BE(1, 2);
  const answers: Buffer[] = [];
  for (let i = 0; i < (o.answers ?? 0); i++) answers.push(Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, i]));
  return Buffer.concat([h, name(qname), q, ...answers]);
}

export function tcpDns(...msgs: Buffer[]): Buffer {
  return Buffer.concat(msgs.flatMap((m) => { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return [l, m]; }));
}

function ext(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };

/** A TLS record holding a ClientHello (type 1) or ServerHello (type 2). */
export function tlsHello(type: 1 | 2, o: { sni?: string; alpn?: string[]; versions?: number[]; legacy?: number; cipher?: number } = {}): Buffer {
  const exts: Buffer[] = [];
  if (o.sni !== undefined) {
    const host = Buffer.from(o.sni);
    const entry = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
    exts.push(ext(0, Buffer.concat([u16(entry.length), entry])));
  }
  if (o.alpn) {
    const list = Buffer.concat(o.alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])));
    exts.push(ext(16, Buffer.concat([u16(list.length), list])));
  }
  if (o.versions) {
    exts.push(type === 1
      ? ext(43, Buffer.concat([Buffer.from([o.versions.length * 2]), ...o.versions.map(u16)]))
      : ext(43, u16(o.versions[0])));
  }
  const extBlock = Buffer.concat(exts);
  const body = type === 1
    ? Buffer.concat([u16(o.legacy ?? 0x0303), Buffer.alloc(32, 7), Buffer.from([0]), u16(4), u16(0x1301), u16(0xc02f), Buffer.from([1, 0]), u16(extBlock.length), extBlock])
    : Buffer.concat([u16(o.legacy ?? 0x0303), Buffer.alloc(32, 9), Buffer.from([0]), u16(o.cipher ?? 0x1301), Buffer.from([0]), u16(extBlock.length), extBlock]);
  const hs = Buffer.concat([Buffer.from([type, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs]);
}

export const httpReq = (path: string, host = 'example.com', extra = ''): Buffer =>
  Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: t\r\n${extra}\r\n`);
export const httpRes = (status: number, body = '', extra = ''): Buffer =>
  Buffer.from(`HTTP/1.1 ${status} X\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
