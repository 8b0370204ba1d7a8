/**
 * Regression tests for decoder disagreements with tshark found in review: a UDP datagram that is
 * the first IP fragment, and ERSPAN headers whose version field decides the header length.
 */
import assert from 'node:assert/strict';
import { decodeFrame } from '.';

const hex = (h: string) => Buffer.from(h.replace(/[^0-9a-f]/gi, ''), 'hex');
const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const cat = (...b: Buffer[]) => Buffer.concat(b);
const v4 = (a: string) => Buffer.from(a.split('.').map(Number));
const eth = (type: number, p: Buffer) => cat(hex('020000000002 020000000001'), u16(type), p);
function ip4(proto: number, payload: Buffer, o: { frag?: number; src?: string; dst?: string } = {}): Buffer {
  return cat(Buffer.from([0x45, 0]), u16(20 + payload.length), u16(0x1234), u16(o.frag ?? 0), Buffer.from([64, proto]), u16(0),
    v4(o.src ?? '10.0.0.1'), v4(o.dst ?? '10.0.0.2'), payload);
}
function ip6frag(payload: Buffer, nh: number, fragWord: number): Buffer {
  const fh = cat(Buffer.from([nh, 0]), u16(fragWord), u32(0xabcd));
  return cat(hex('60000000'), u16(8 + payload.length), Buffer.from([44, 64]), Buffer.alloc(15), Buffer.from([1]), Buffer.alloc(15), Buffer.from([2]), fh, payload);
}
const decode = (f: Buffer) => decodeFrame({ linkType: 1, data: f, ts_ns: 0n, wireLen: f.length, capLen: f.length },
  { observationPoint: 'test', payloadPrefix: (_p, s, d) => (s === 53 || d === 53 ? 300 : 0) });

const innerUdp = eth(0x0800, cat(Buffer.from([0x45, 0]), u16(28), u16(1), u16(0), Buffer.from([64, 17]), u16(0),
  v4('192.168.0.1'), v4('192.168.0.2'), u16(1111), u16(2222), u16(8), u16(0)));

describe('decoder: UDP first fragments and ERSPAN header versions', () => {
  it('a UDP first fragment (MF set) is not bad-udp-len: tunnels are decapsulated and the payload prefix kept, like tshark', () => {
    // VXLAN datagram of 1000+ bytes whose first IPv4 fragment carries the VXLAN header and the inner frame
    const vx = cat(hex('08000000 00007b00'), innerUdp, Buffer.alloc(40));
    const first = eth(0x0800, ip4(17, cat(u16(5555), u16(4789), u16(8 + vx.length + 1000), u16(0), vx), { frag: 0x2000 }));
    const s = decode(first);
    assert.equal(s.malformed, null);
    assert.equal(s.tunnel_type, 'VXLAN'); // tshark: vxlan.vni 123, inner 192.168.0.1 -> 192.168.0.2 1111 -> 2222
    assert.equal(s.tunnel_id, 123);
    assert.equal(s.outer_src_ip, '10.0.0.1');
    assert.equal(s.src_ip, '192.168.0.1');
    assert.equal(s.dst_port, 2222);

    // a large DNS response over IPv6 whose first fragment holds the UDP header and the DNS header
    const dns = hex('1234 8180 0001 0001 0000 0000');
    const s6 = decode(eth(0x86dd, ip6frag(cat(u16(53), u16(40000), u16(8 + 3000), u16(0), dns), 17, 0x0001)));
    assert.equal(s6.malformed, null);
    assert.equal(s6.src_port, 53);
    assert.equal(s6.l4_payload_len, dns.length); // the payload this fragment carries, as for TCP first fragments
    assert.deepEqual(s6.payload_prefix, dns);

    // not a fragment: a UDP length beyond the IP payload is still bad-udp-len
    const notFrag = decode(eth(0x0800, ip4(17, cat(u16(1), u16(2), u16(500), u16(0), Buffer.alloc(8)))));
    assert.equal(notFrag.malformed, 'bad-udp-len');
  });

  it('ERSPAN: the header version (1 = type II, 8 bytes; 2 = type III, 12 bytes) decides the header length, as in tshark', () => {
    const inner = eth(0x0800, ip4(1, cat(hex('0800 0000 0007 0001'), Buffer.alloc(8)), { src: '192.168.1.1', dst: '192.168.1.2' }));
    const hdr8 = (ver: number) => cat(u16((ver << 12) | 5), u16(77), u32(0));
    const hdr12 = (ver: number) => cat(u16((ver << 12) | 5), u16(77), u32(123), u16(0), u16(0));
    // GRE 0x88be with sequence number carrying a version-2 (type III) header
    const a = decode(eth(0x0800, ip4(47, cat(u16(0x1000), u16(0x88be), u32(1), hdr12(2), inner))));
    assert.equal(a.malformed, null);
    assert.equal(a.tunnel_id, 77);
    assert.equal(a.src_mac, '02:00:00:00:00:01');
    assert.equal(a.src_ip, '192.168.1.1');
    // GRE 0x22eb carrying a version-1 (type II) header
    const b = decode(eth(0x0800, ip4(47, cat(u16(0x0000), u16(0x22eb), hdr8(1), inner))));
    assert.equal(b.malformed, null);
    assert.equal(b.tunnel_id, 77);
    assert.equal(b.src_mac, '02:00:00:00:00:01');
    assert.equal(b.dst_ip, '192.168.1.2');
    // an unknown version is not decapsulated into garbage: the record stays the outer packet
    const c = decode(eth(0x0800, ip4(47, cat(u16(0x1000), u16(0x88be), u32(1), hdr8(5), inner))));
    assert.equal(c.tunnel_type, null);
    assert.equal(c.src_ip, '10.0.0.1');
    assert.equal(c.ip_proto, 47);
    // the normal cases are unchanged
    const ii = decode(eth(0x0800, ip4(47, cat(u16(0x1000), u16(0x88be), u32(1), hdr8(1), inner))));
    assert.equal(ii.tunnel_type, 'ERSPAN_II');
    assert.equal(ii.src_ip, '192.168.1.1');
    const iii = decode(eth(0x0800, ip4(47, cat(u16(0x0000), u16(0x22eb), hdr12(2), inner))));
    assert.equal(iii.tunnel_type, 'ERSPAN_III');
    assert.equal(iii.src_ip, '192.168.1.1');
  });
});
