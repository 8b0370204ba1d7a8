/**
 * The packet fields the metrics stage reads. Its input codec decodes only these
 * (StageDefinition.input.fields: the others are skipped on the wire), and the processor's code
 * is typed with MetricsPacket, so reading any other field does not compile.
 */
import type { PacketSummary } from '../../../schemas/types';

export const METRICS_FIELDS = ['ts_ns', 'observation_point', 'sampling_rate', 'wire_len', 'src_ip', 'dst_ip', 'ip_proto',
  'src_port', 'dst_port', 'tunnel_id', 'l4_payload_len', 'tcp_flags', 'tcp_seq', 'tcp_ack', 'tcp_window', 'tcp_sack_blocks',
  'tcp_ts_val', 'tcp_ts_ecr', 'icmp_type', 'icmp_id', 'icmp_seq'] as const;

export type MetricsPacket = Pick<PacketSummary, typeof METRICS_FIELDS[number]>;
