/**
 * IPv4 (options, fragments) and IPv6 (extension-header chain) decoding. Both hand the upper
 * layer the captured end clipped to the header's declared length (so Ethernet padding is never
 * taken for payload) and the declared payload length (so l4_payload_len is right even when the
 * snap length cut the frame).
 */
import type { PacketSummary } from '../../schemas/types';
import { ipv4 as ip4str_, ipv6 as ip6str_ } from './addr';
import { bad as bad_, u16 as u16_, u32 as u32_ } from './state';
import { l4 } from './l4';
// Local bindings: the CJS transpiler turns imported names into property getters, which cost
// measurable time per call on the hot path (these modules have no circular dependency).
const ip4str = ip4str_;
const ip6str = ip6str_;
const bad = bad_;
const u16 = u16_;
const u32 = u32_;

/** Raw IP link types: the version nibble decides. */
export function rawIp(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 1) { bad(s, 'truncated-ip'); return; }
  const v = d[o] >> 4;
  if (v === 4) { s.eth_type = 0x0800; ipv4(d, o, end, s); }
  else if (v === 6) { s.eth_type = 0x86dd; ipv6(d, o, end, s); }
  else bad(s, 'bad-ip-version');
}

export function ipv4(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 1) { bad(s, 'truncated-ipv4'); return; }
  if (d[o] >> 4 !== 4) { bad(s, 'bad-ip-version'); return; }
  s.ip_version = 4;
  if (end - o < 20) { bad(s, 'truncated-ipv4'); return; }
  const ihl = (d[o] & 15) << 2;
  const tot = u16(d, o + 2);
  const ff = u16(d, o + 6);
  s.ip_tos = d[o + 1];
  s.ip_len = tot;
  s.ip_id = u16(d, o + 4);
  s.frag_offset = (ff & 0x1fff) << 3;
  s.more_fragments = (ff & 0x2000) !== 0;
  s.ip_ttl = d[o + 8];
  const proto = d[o + 9];
  s.ip_proto = proto;
  s.src_ip = ip4str(d, o + 12);
  s.dst_ip = ip4str(d, o + 16);
  s.ip_hdr_len = ihl;
  if (ihl < 20) { bad(s, 'bad-ipv4-hdr-len'); return; }
  // Total length 0 is what TCP segmentation offload leaves in host captures: use the frame.
  const declared = tot === 0 ? end - o : tot;
  if (declared < ihl) { bad(s, 'bad-ipv4-total-len'); return; }
  if (end - o < ihl) { bad(s, 'truncated-ipv4'); return; }
  // Non-first fragments carry no L4 header; the aggregation stage attributes them by ip_id.
  if (s.frag_offset > 0) { s.l4_payload_len = declared - ihl; return; }
  const pend = o + declared < end ? o + declared : end;
  l4(d, o + ihl, pend, proto, declared - ihl, s);
}

export function ipv6(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 1) { bad(s, 'truncated-ipv6'); return; }
  if (d[o] >> 4 !== 6) { bad(s, 'bad-ip-version'); return; }
  s.ip_version = 6;
  if (end - o < 40) { bad(s, 'truncated-ipv6'); return; }
  s.ip_tos = ((d[o] & 15) << 4) | (d[o + 1] >> 4);
  const plen = u16(d, o + 4);
  let nh = d[o + 6];
  s.ip_ttl = d[o + 7];
  s.src_ip = ip6str(d, o + 8);
  s.dst_ip = ip6str(d, o + 24);
  s.ip_len = plen + 40;
  // Payload length 0 means a jumbogram or offloaded segment: bound by the capture instead.
  const declared = plen === 0 ? end - o - 40 : plen;
  const pend = o + 40 + declared < end ? o + 40 + declared : end;
  let p = o + 40;
  const ext = s.ipv6_ext_headers;
  // No iteration cap needed: every extension header advances p by at least 8 bytes.
  for (;;) {
    if (nh === 0 || nh === 43 || nh === 60 || nh === 51) {
      ext.push(nh);
      if (pend - p < 2) { s.ip_proto = nh; s.ip_hdr_len = p - o; bad(s, 'truncated-ipv6-ext'); return; }
      // AH counts its length in 4-byte units minus 2; the others in 8-byte units minus 1.
      const len = nh === 51 ? (d[p + 1] + 2) << 2 : (d[p + 1] + 1) << 3;
      nh = d[p];
      if (pend - p < len) { s.ip_proto = nh; s.ip_hdr_len = p - o; bad(s, 'truncated-ipv6-ext'); return; }
      p += len;
      continue;
    }
    if (nh === 44) {
      ext.push(44);
      if (pend - p < 8) { s.ip_proto = nh; s.ip_hdr_len = p - o; bad(s, 'truncated-ipv6-ext'); return; }
      const fo = u16(d, p + 2);
      s.frag_offset = fo & 0xfff8;
      s.more_fragments = (fo & 1) === 1;
      s.ip_id = u32(d, p + 4);
      nh = d[p];
      p += 8;
      if (s.frag_offset > 0) {
        s.ip_proto = nh; s.ip_hdr_len = p - o; s.l4_payload_len = declared - (p - o - 40);
        return;
      }
      continue;
    }
    if (nh === 50) {
      // ESP: everything after the SPI/sequence is encrypted, including the next header.
      ext.push(50);
      break;
    }
    break;
  }
  s.ip_proto = nh;
  s.ip_hdr_len = p - o;
  if (nh === 50) { s.l4_payload_len = declared - (p - o - 40); return; }
  l4(d, p, pend, nh, declared - (p - o - 40), s);
}
