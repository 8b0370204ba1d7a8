/**
 * Transport layers: TCP (with options), UDP (with the VXLAN/GENEVE tunnel ports), SCTP ports,
 * and the dispatch to ICMP and GRE. `end` is the captured end clipped to the IP payload;
 * `payLen` is the IP payload length the headers declare.
 */
import type { PacketSummary } from '../../schemas/types';
import { bad as bad_, st as st_, u16 as u16_, u32 as u32_ } from './state';
import { icmp4, icmp6 } from './icmp';
import { gre, geneve, vxlan } from './tunnels';
// Local bindings: the CJS transpiler turns imported names into property getters, which cost
// measurable time per call on the hot path (these modules have no circular dependency).
const bad = bad_;
const st = st_;
const u16 = u16_;
const u32 = u32_;

export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;

export function l4(d: Buffer, o: number, end: number, proto: number, payLen: number, s: PacketSummary): void {
  switch (proto) {
    case 6: tcp(d, o, end, payLen, s); return;
    case 17: udp(d, o, end, payLen, s); return;
    case 132: sctp(d, o, end, payLen, s); return;
    case 1: s.l4_payload_len = payLen; icmp4(d, o, end, s); return;
    case 58: s.l4_payload_len = payLen; icmp6(d, o, end, s); return;
    case 47: s.l4_payload_len = payLen; gre(d, o, end, s); return;
    default: s.l4_payload_len = payLen;
  }
}

/** Copy the first N payload bytes when the configured policy asks for them (the only copy). */
function prefix(d: Buffer, o: number, end: number, proto: number, s: PacketSummary): void {
  const f = st.prefix;
  if (f === null || o >= end) return;
  const n = f(proto, s.src_port as number, s.dst_port as number);
  if (!(n > 0)) return;
  const m = n < end - o ? n : end - o;
  const b = Buffer.allocUnsafe(m);
  d.copy(b, 0, o, o + m);
  s.payload_prefix = b;
}

function tcp(d: Buffer, o: number, end: number, payLen: number, s: PacketSummary): void {
  const avail = end - o;
  // Fill what the capture holds so snaplen-cut headers still give ports/seq (as tshark shows).
  if (avail < 4) { bad(s, 'truncated-tcp'); return; }
  s.src_port = u16(d, o);
  s.dst_port = u16(d, o + 2);
  if (avail < 8) { bad(s, 'truncated-tcp'); return; }
  s.tcp_seq = u32(d, o + 4);
  if (avail < 13) { bad(s, 'truncated-tcp'); return; }
  const hl = (d[o + 12] >> 4) << 2;
  s.tcp_hdr_len = hl;
  // A data offset below 20 means the header is garbage: keep only ports/seq, as tshark does.
  if (hl < 20) { bad(s, 'bad-tcp-offset'); return; }
  s.tcp_ack = u32(d, o + 8);
  if (avail < 14) { bad(s, 'truncated-tcp'); return; }
  s.tcp_flags = ((d[o + 12] & 1) << 8) | d[o + 13];
  if (avail < 16) { bad(s, 'truncated-tcp'); return; }
  s.tcp_window = u16(d, o + 14);
  if (hl > payLen) { bad(s, 'bad-tcp-offset'); return; }
  s.l4_payload_len = payLen - hl;
  if (avail < 20) { bad(s, 'truncated-tcp'); return; }
  tcpOptions(d, o + 20, o + hl < end ? o + hl : end, s);
  if (avail < hl) { bad(s, 'truncated-tcp'); return; }
  prefix(d, o + hl, end, 6, s);
}

function tcpOptions(d: Buffer, p: number, oend: number, s: PacketSummary): void {
  while (p < oend) {
    const kind = d[p];
    if (kind === 0) return; // end of option list
    if (kind === 1) { p++; continue; } // NOP
    if (p + 1 >= oend) return; // cut by the snap length
    const len = d[p + 1];
    if (len < 2) { bad(s, 'bad-tcp-option'); return; }
    if (p + len > oend) return;
    switch (kind) {
      case 2: if (len === 4) s.tcp_mss = u16(d, p + 2); break;
      case 3: if (len === 3) s.tcp_wscale = d[p + 2]; break;
      case 4: if (len === 2) s.tcp_sack_permitted = true; break;
      case 5:
        for (let q = p + 2; q + 8 <= p + len; q += 8) s.tcp_sack_blocks.push(u32(d, q), u32(d, q + 4));
        break;
      case 8: if (len === 10) { s.tcp_ts_val = u32(d, p + 2); s.tcp_ts_ecr = u32(d, p + 6); } break;
      default: break;
    }
    p += len;
  }
}

function udp(d: Buffer, o: number, end: number, payLen: number, s: PacketSummary): void {
  const avail = end - o;
  if (avail < 4) { bad(s, 'truncated-udp'); return; }
  const sp = u16(d, o);
  const dp = u16(d, o + 2);
  s.src_port = sp;
  s.dst_port = dp;
  if (avail < 8) { bad(s, 'truncated-udp'); return; }
  const ulen = u16(d, o + 4);
  let uend: number;
  if (ulen < 8 || ulen > payLen) {
    if (ulen < 8 || !s.more_fragments) {
      // Use the IP payload length instead so the record still counts sensible bytes.
      s.l4_payload_len = payLen >= 8 ? payLen - 8 : 0;
      bad(s, 'bad-udp-len');
      return;
    }
    // First fragment (MF set; later fragments never reach L4): the UDP length covers the whole
    // datagram, which is not an error (tshark neither); like TCP, count what this fragment carries.
    s.l4_payload_len = payLen - 8;
    uend = end;
  } else {
    s.l4_payload_len = ulen - 8;
    uend = o + ulen < end ? o + ulen : end;
  }
  if (dp === VXLAN_PORT) { vxlan(d, o + 8, uend, s); return; }
  if (dp === GENEVE_PORT) { geneve(d, o + 8, uend, s); return; }
  prefix(d, o + 8, uend, 17, s);
}

function sctp(d: Buffer, o: number, end: number, payLen: number, s: PacketSummary): void {
  if (end - o < 4) { bad(s, 'truncated-sctp'); return; }
  s.src_port = u16(d, o);
  s.dst_port = u16(d, o + 2);
  s.l4_payload_len = payLen >= 12 ? payLen - 12 : 0;
  if (end - o < 12) { bad(s, 'truncated-sctp'); return; }
  prefix(d, o + 12, end, 132, s);
}

/** Ports of a quoted L4 header inside an ICMP error (first 4 bytes of TCP/UDP/SCTP). */
export function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132;
}
