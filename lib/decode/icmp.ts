/**
 * ICMPv4 / ICMPv6: type, code, echo identifier/sequence, and for error messages the quoted
 * original IP header with its ports, so an error can be tied to the flow that caused it.
 */
import type { PacketSummary, QuotedHeader } from '../../schemas/types';
import { ipv4 as ip4str_, ipv6 as ip6str_ } from './addr';
import { bad as bad_, u16 as u16_ } from './state';
import { hasPorts } from './l4';
// Local bindings: the CJS transpiler turns imported names into property getters, which cost
// measurable time per call on the hot path (these modules have no circular dependency).
const ip4str = ip4str_;
const ip6str = ip6str_;
const bad = bad_;
const u16 = u16_;

export function icmp4(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 2) { bad(s, 'truncated-icmp'); return; }
  const type = d[o];
  s.icmp_type = type;
  s.icmp_code = d[o + 1];
  switch (type) {
    // echo reply/request, timestamp, information, address mask: identifier + sequence
    case 0: case 8: case 13: case 14: case 15: case 16: case 17: case 18:
      if (end - o < 8) { bad(s, 'truncated-icmp'); return; }
      s.icmp_id = u16(d, o + 4);
      s.icmp_seq = u16(d, o + 6);
      return;
    // unreachable, source quench, redirect, time exceeded, parameter problem
    case 3: case 4: case 5: case 11: case 12:
      if (end - o < 8) { bad(s, 'truncated-icmp'); return; }
      s.icmp_quoted = quoted4(d, o + 8, end);
      return;
    default:
      if (end - o < 4) bad(s, 'truncated-icmp');
  }
}

export function icmp6(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 2) { bad(s, 'truncated-icmpv6'); return; }
  const type = d[o];
  s.icmp_type = type;
  s.icmp_code = d[o + 1];
  if (type === 128 || type === 129) {
    if (end - o < 8) { bad(s, 'truncated-icmpv6'); return; }
    s.icmp_id = u16(d, o + 4);
    s.icmp_seq = u16(d, o + 6);
  } else if (type >= 1 && type <= 4) {
    if (end - o < 8) { bad(s, 'truncated-icmpv6'); return; }
    s.icmp_quoted = quoted6(d, o + 8, end);
  } else if (end - o < 4) bad(s, 'truncated-icmpv6');
}

/** Quoted IPv4 header; null when less than a full header was quoted (no error: RFC allows it). */
function quoted4(d: Buffer, q: number, end: number): QuotedHeader | null {
  if (end - q < 20 || d[q] >> 4 !== 4) return null;
  const ihl = (d[q] & 15) << 2;
  if (ihl < 20) return null;
  const proto = d[q + 9];
  const ports = hasPorts(proto) && end - q - ihl >= 4 && ((u16(d, q + 6) & 0x1fff) === 0);
  return {
    src_ip: ip4str(d, q + 12),
    dst_ip: ip4str(d, q + 16),
    ip_proto: proto,
    src_port: ports ? u16(d, q + ihl) : null,
    dst_port: ports ? u16(d, q + ihl + 2) : null,
  };
}

function quoted6(d: Buffer, q: number, end: number): QuotedHeader | null {
  if (end - q < 40 || d[q] >> 4 !== 6) return null;
  let nh = d[q + 6];
  let p = q + 40;
  // Walk the common extension headers so the quoted upper-layer protocol is the real one.
  for (let n = 0; n < 8 && (nh === 0 || nh === 43 || nh === 60 || nh === 44); n++) {
    if (end - p < 8) break;
    const len = nh === 44 ? 8 : (d[p + 1] + 1) << 3;
    nh = d[p];
    p += len;
  }
  const ports = hasPorts(nh) && end - p >= 4;
  return {
    src_ip: ip6str(d, q + 8),
    dst_ip: ip6str(d, q + 24),
    ip_proto: nh,
    src_port: ports ? u16(d, p) : null,
    dst_port: ports ? u16(d, p + 2) : null,
  };
}
