/**
 * TypeScript view of schemas/flow-metrics.v1.avsc (topic tapline.flow-metrics.v1), written by
 * the `metrics` stage. Field names and nullability must match the .avsc;
 * pipelines/stages/metrics/metrics.test.ts round-trips a full record and compares field names.
 */
import type { Long } from './types';

export const FLOW_METRICS_SCHEMA = 'flow-metrics.v1';
export const FLOW_METRICS_TOPIC = 'tapline.flow-metrics.v1';

export interface DDSketchBins {
  relative_accuracy: number;
  gamma: number;
  zero_count: number;
  keys: number[];
  counts: number[];
}

export interface RttStats {
  count: Long;
  sum_ns: number;
  mean_ns: number;
  min_ns: Long;
  max_ns: Long;
  p50_ns: number;
  p95_ns: number;
  p99_ns: number;
  jitter_ns: number | null;
  delta_sum_ns: number;
  delta_count: Long;
  sketch: DDSketchBins;
}

export interface TcpDirection {
  data_segments: Long;
  data_bytes: Long;
  retransmitted_segments: Long;
  retransmitted_bytes: Long;
  lost_before_mirror_segments: Long;
  out_of_order_segments: Long;
  retransmission_rate: number;
  dup_acks: Long;
  zero_windows: Long;
  zero_window_probes: Long;
  rtt_ambiguous: Long;
  rtt_untracked_segments: Long;
  acked_unseen_gaps: Long;
  spurious_retransmissions: Long;
}

export interface FlowMetrics {
  window_start_ns: Long;
  window_end_ns: Long;
  flow_key: string;
  observation_point: string;
  ip_proto: number;
  addr_a: string;
  port_a: number;
  addr_b: string;
  port_b: number;
  first_seen_ns: Long;
  last_seen_ns: Long;
  packets_ab: Long;
  packets_ba: Long;
  bytes_ab: Long;
  bytes_ba: Long;
  throughput_ab_bps: number;
  throughput_ba_bps: number;
  peak_1s_bytes_ab: Long;
  peak_1s_bytes_ba: Long;
  client_is_a: boolean | null;
  handshake_server_ns: Long | null;
  handshake_client_ns: Long | null;
  handshake_total_ns: Long | null;
  rtt_data_ab: RttStats | null;
  rtt_data_ba: RttStats | null;
  rtt_ts_ab: RttStats | null;
  rtt_ts_ba: RttStats | null;
  rtt_icmp_echo: RttStats | null;
  tcp_ab: TcpDirection | null;
  tcp_ba: TcpDirection | null;
  /** inventory VM holding addr_a / addr_b at first_seen_ns, and its NIC capacity (bits/s) */
  vm_a: string | null;
  vm_b: string | null;
  nic_capacity_a_bps: Long | null;
  nic_capacity_b_bps: Long | null;
  /** bits/s (8 x bytes/s) sent (out) / received (in) by the endpoint over its NIC capacity; mean and busiest second */
  utilization_a_out: number | null;
  utilization_a_in: number | null;
  utilization_a_out_peak_1s: number | null;
  utilization_a_in_peak_1s: number | null;
  utilization_b_out: number | null;
  utilization_b_in: number | null;
  utilization_b_out_peak_1s: number | null;
  utilization_b_in_peak_1s: number | null;
}
