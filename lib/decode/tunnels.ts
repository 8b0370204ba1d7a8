/**
 * Tunnel decapsulation: VXLAN, GENEVE, GRE (v0 with key, Transparent Ethernet Bridging, IPv4/
 * IPv6 payloads; v1 PPTP carrying PPP/IP) and ERSPAN I/II/III. The summary ends up describing the
 * inner frame; the OUTERMOST tunnel's addresses, type and id are kept so the record identifies
 * the mirror source. A tunnel whose payload we cannot decode is left as the outer packet.
 */
import type { PacketSummary, TunnelType } from '../../schemas/types';
import { bad as bad_, MAX_TUNNEL_DEPTH, resetInner as resetInner_, st as st_, u16 as u16_, u32 as u32_ } from './state';
import { ethernet } from './link';
import { ipv4, ipv6 } from './ip';
// Local bindings: the CJS transpiler turns imported names into property getters, which cost
// measurable time per call on the hot path (these modules have no circular dependency).
const bad = bad_;
const resetInner = resetInner_;
const st = st_;
const u16 = u16_;
const u32 = u32_;

function enter(s: PacketSummary, type: TunnelType, id: number | null): boolean {
  if (st.depth >= MAX_TUNNEL_DEPTH) { bad(s, 'tunnel-too-deep'); return false; }
  st.depth++;
  if (s.tunnel_type === null) {
    s.tunnel_type = type;
    s.tunnel_id = id;
    s.outer_src_ip = s.src_ip;
    s.outer_dst_ip = s.dst_ip;
  }
  resetInner(s);
  return true;
}

export function vxlan(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 8) { bad(s, 'truncated-vxlan'); return; }
  if (!enter(s, 'VXLAN', (d[o + 4] << 16) | (d[o + 5] << 8) | d[o + 6])) return;
  ethernet(d, o + 8, end, s);
}

export function geneve(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 8) { bad(s, 'truncated-geneve'); return; }
  if (d[o] >> 6 !== 0) { bad(s, 'bad-geneve-version'); return; }
  const p = o + 8 + ((d[o] & 0x3f) << 2); // options are skipped whole
  if (p > end) { bad(s, 'truncated-geneve'); return; }
  const proto = u16(d, o + 2);
  if (proto !== 0x6558 && proto !== 0x0800 && proto !== 0x86dd) return;
  if (!enter(s, 'GENEVE', (d[o + 4] << 16) | (d[o + 5] << 8) | d[o + 6])) return;
  inner(d, p, end, proto, s);
}

function inner(d: Buffer, p: number, end: number, proto: number, s: PacketSummary): void {
  if (proto === 0x6558) ethernet(d, p, end, s);
  else if (proto === 0x0800) { s.eth_type = proto; ipv4(d, p, end, s); }
  else { s.eth_type = proto; ipv6(d, p, end, s); }
}

export function gre(d: Buffer, o: number, end: number, s: PacketSummary): void {
  if (end - o < 4) { bad(s, 'truncated-gre'); return; }
  const f = u16(d, o);
  const ver = f & 7;
  const proto = u16(d, o + 2);
  let p = o + 4;
  let key: number | null = null;
  if (ver === 0) {
    if (f & 0xc000) p += 4; // checksum (C) or routing (R) present: checksum + offset word
    if (f & 0x2000) {
      if (end - p < 4) { bad(s, 'truncated-gre'); return; }
      key = u32(d, p);
      p += 4;
    }
    if (f & 0x1000) p += 4; // sequence number
  } else if (ver === 1) {
    // PPTP enhanced GRE: key = payload length(16) + call id(16); optional seq and ack.
    if (f & 0x2000) {
      if (end - p < 4) { bad(s, 'truncated-gre'); return; }
      key = u16(d, p + 2);
      p += 4;
    }
    if (f & 0x1000) p += 4;
    if (f & 0x0080) p += 4;
  } else { bad(s, 'bad-gre-version'); return; }
  if (p > end) { bad(s, 'truncated-gre'); return; }
  switch (proto) {
    case 0x0800: case 0x86dd: case 0x6558:
      if (end - p < 1) return; // keepalive-style empty payload
      if (enter(s, 'GRE', key)) inner(d, p, end, proto, s);
      return;
    case 0x88be:
      // ERSPAN type I has no ERSPAN header and no GRE sequence number; type II has both.
      if (f & 0x1000) erspan(d, p, end, s);
      else if (end - p >= 14 && enter(s, 'ERSPAN_I', null)) ethernet(d, p, end, s);
      return;
    case 0x22eb: erspan(d, p, end, s); return;
    case 0x880b: ppp(d, p, end, key, s); return;
    case 0x8909: {
      // Cisco MetaData inside GRE: EtherType first, then version, length, option, SGT (8 bytes).
      if (end - p < 9) { bad(s, 'truncated-cmd'); return; }
      const t = u16(d, p);
      if ((t === 0x0800 || t === 0x86dd || t === 0x6558) && enter(s, 'GRE', key)) inner(d, p + 8, end, t, s);
      return;
    }
    default: return;
  }
}

/** ERSPAN II/III: the header's version (1 = II, 8 bytes; 2 = III, 12 bytes) decides, as in tshark, not the GRE type. */
function erspan(d: Buffer, p: number, end: number, s: PacketSummary): void {
  if (end - p < 8) { bad(s, 'truncated-erspan'); return; }
  const ver = d[p] >> 4;
  if (ver !== 1 && ver !== 2) return; // unknown version: left as the outer packet
  const hlen = ver === 1 ? 8 : 12;
  const type: TunnelType = ver === 1 ? 'ERSPAN_II' : 'ERSPAN_III';
  if (end - p < hlen) { bad(s, 'truncated-erspan'); return; }
  const session = u16(d, p + 2) & 0x03ff;
  let q = p + hlen;
  // ERSPAN III: O flag (last bit of the header) announces an 8-byte platform sub-header.
  if (hlen === 12 && (d[p + 11] & 1)) q += 8;
  if (q > end) { bad(s, 'truncated-erspan'); return; }
  if (!enter(s, type, session)) return;
  ethernet(d, q, end, s);
}

/** PPP inside PPTP GRE: only IP payloads are decapsulated (LCP/CCP/compressed stay outer). */
function ppp(d: Buffer, p: number, end: number, key: number | null, s: PacketSummary): void {
  if (end - p >= 2 && d[p] === 0xff && d[p + 1] === 0x03) p += 2; // address/control, unless compressed
  if (end - p < 1) return;
  let proto: number;
  if (d[p] & 1) { proto = d[p]; p += 1; } // protocol-field compression
  else { if (end - p < 2) return; proto = u16(d, p); p += 2; }
  if (proto === 0x21) { if (enter(s, 'GRE', key)) { s.eth_type = 0x0800; ipv4(d, p, end, s); } }
  else if (proto === 0x57) { if (enter(s, 'GRE', key)) { s.eth_type = 0x86dd; ipv6(d, p, end, s); } }
}
