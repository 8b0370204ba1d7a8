/**
 * TypeScript views of the Avro records in this folder. Field names and nullability must match
 * the .avsc files exactly; schemas/schemas.test.ts fails when they drift apart.
 * Avro `long` is read as bigint (see index.ts); writers may pass number.
 */
export type Long = bigint | number;

export type TunnelType = 'VXLAN' | 'GENEVE' | 'GRE' | 'ERSPAN_I' | 'ERSPAN_II' | 'ERSPAN_III';

export interface QuotedHeader {
  src_ip: string;
  dst_ip: string;
  ip_proto: number;
  src_port: number | null;
  dst_port: number | null;
}

export interface PacketSummary {
  ts_ns: Long;
  observation_point: string;
  sampling_rate: number;
  link_type: number;
  wire_len: number;
  cap_len: number;
  malformed: string | null;
  src_mac: string | null;
  dst_mac: string | null;
  eth_type: number;
  vlan_ids: number[];
  mpls_labels: number[];
  ip_version: number;
  src_ip: string | null;
  dst_ip: string | null;
  ip_proto: number | null;
  ip_ttl: number | null;
  ip_tos: number | null;
  ip_id: Long | null;
  ip_len: number | null;
  ip_hdr_len: number | null;
  frag_offset: number;
  more_fragments: boolean;
  ipv6_ext_headers: number[];
  src_port: number | null;
  dst_port: number | null;
  l4_payload_len: number;
  tcp_flags: number | null;
  tcp_seq: Long | null;
  tcp_ack: Long | null;
  tcp_window: number | null;
  tcp_hdr_len: number | null;
  tcp_mss: number | null;
  tcp_wscale: number | null;
  tcp_sack_permitted: boolean;
  tcp_sack_blocks: Long[];
  tcp_ts_val: Long | null;
  tcp_ts_ecr: Long | null;
  icmp_type: number | null;
  icmp_code: number | null;
  icmp_id: number | null;
  icmp_seq: number | null;
  icmp_quoted: QuotedHeader | null;
  arp_op: number | null;
  arp_sender_ip: string | null;
  arp_target_ip: string | null;
  tunnel_type: TunnelType | null;
  tunnel_id: Long | null;
  outer_src_ip: string | null;
  outer_dst_ip: string | null;
  payload_prefix: Buffer | null;
}

export interface FlowWindow {
  window_start_ns: Long;
  window_end_ns: Long;
  flow_key: string;
  ip_proto: number;
  addr_a: string;
  port_a: number;
  addr_b: string;
  port_b: number;
  packets_ab: Long;
  bytes_ab: Long;
  packets_ba: Long;
  bytes_ba: Long;
  syn_count: Long;
  synack_count: Long;
  fin_count: Long;
  rst_count: Long;
  zero_window_count: Long;
  malformed_count: Long;
  first_seen_ns: Long;
  last_seen_ns: Long;
  observation_point: string;
}

/** A PacketSummary with every optional field at its Avro default. */
export function emptyPacketSummary(): PacketSummary {
  return {
    ts_ns: 0n, observation_point: '', sampling_rate: 1, link_type: 1, wire_len: 0, cap_len: 0, malformed: null,
    src_mac: null, dst_mac: null, eth_type: 0, vlan_ids: [], mpls_labels: [], ip_version: 0,
    src_ip: null, dst_ip: null, ip_proto: null, ip_ttl: null, ip_tos: null, ip_id: null, ip_len: null, ip_hdr_len: null,
    frag_offset: 0, more_fragments: false, ipv6_ext_headers: [], src_port: null, dst_port: null, l4_payload_len: 0,
    tcp_flags: null, tcp_seq: null, tcp_ack: null, tcp_window: null, tcp_hdr_len: null, tcp_mss: null, tcp_wscale: null,
    tcp_sack_permitted: false, tcp_sack_blocks: [], tcp_ts_val: null, tcp_ts_ecr: null,
    icmp_type: null, icmp_code: null, icmp_id: null, icmp_seq: null, icmp_quoted: null,
    arp_op: null, arp_sender_ip: null, arp_target_ip: null,
    tunnel_type: null, tunnel_id: null, outer_src_ip: null, outer_dst_ip: null, payload_prefix: null,
  };
}
