/**
 * Per-call decoder state shared by the layer modules. Layers call each other directly (link ->
 * IP -> L4 -> tunnel -> link ...) and write into the summary, so passing these through every
 * signature would only cost arguments; decodeFrame() sets them before each frame. Decoding
 * is synchronous, so there is no interleaving between frames.
 */
import type { PacketSummary } from '../../schemas/types';

export type PayloadPolicy = (proto: number, srcPort: number, dstPort: number) => number;

export const st = {
  prefix: null as PayloadPolicy | null,
  /** tunnel nesting depth; bounded so crafted frames cannot recurse without end */
  depth: 0,
};

export const MAX_TUNNEL_DEPTH = 4;

/** Record the first malformation only: decoding stops at that layer. */
export function bad(s: PacketSummary, code: string): void {
  if (s.malformed === null) s.malformed = code;
}

export function u16(d: Buffer, o: number): number {
  return (d[o] << 8) | d[o + 1];
}

export function u32(d: Buffer, o: number): number {
  return d[o] * 0x1000000 + ((d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]);
}

/** Clear everything below the link type before decoding a tunnel's inner frame. */
export function resetInner(s: PacketSummary): void {
  s.src_mac = null; s.dst_mac = null; s.eth_type = 0;
  if (s.vlan_ids.length) s.vlan_ids = [];
  if (s.mpls_labels.length) s.mpls_labels = [];
  s.ip_version = 0; s.src_ip = null; s.dst_ip = null; s.ip_proto = null; s.ip_ttl = null; s.ip_tos = null;
  s.ip_id = null; s.ip_len = null; s.ip_hdr_len = null; s.frag_offset = 0; s.more_fragments = false;
  if (s.ipv6_ext_headers.length) s.ipv6_ext_headers = [];
  s.src_port = null; s.dst_port = null; s.l4_payload_len = 0;
  s.tcp_flags = null; s.tcp_seq = null; s.tcp_ack = null; s.tcp_window = null; s.tcp_hdr_len = null;
  s.tcp_mss = null; s.tcp_wscale = null; s.tcp_sack_permitted = false;
  if (s.tcp_sack_blocks.length) s.tcp_sack_blocks = [];
  s.tcp_ts_val = null; s.tcp_ts_ecr = null;
  s.icmp_type = null; s.icmp_code = null; s.icmp_id = null; s.icmp_seq = null; s.icmp_quoted = null;
  s.arp_op = null; s.arp_sender_ip = null; s.arp_target_ip = null;
  s.payload_prefix = null;
}
