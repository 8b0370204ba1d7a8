-- Network performance per flow, observation point and window (metrics stage). Each RttStats
-- record is flattened to <kind>_count, _sum_ns, _mean_ns, _min_ns, _max_ns, _p50/_p95/_p99_ns,
-- _jitter_ns, _delta_sum_ns, _delta_count; its sketch bins are in rtt_sketch_bins (006).
CREATE TABLE IF NOT EXISTS flow_metrics (
  "window_start" timestamptz NOT NULL,
  "window_end" timestamptz NOT NULL,
  "flow_key" text NOT NULL,
  "observation_point" text NOT NULL,
  "ip_proto" integer NOT NULL,
  "addr_a" inet NOT NULL,
  "port_a" integer NOT NULL,
  "addr_b" inet NOT NULL,
  "port_b" integer NOT NULL,
  "first_seen" timestamptz NOT NULL,
  "last_seen" timestamptz NOT NULL,
  "packets_ab" bigint NOT NULL,
  "packets_ba" bigint NOT NULL,
  "bytes_ab" bigint NOT NULL,
  "bytes_ba" bigint NOT NULL,
  "throughput_ab_bps" double precision NOT NULL,
  "throughput_ba_bps" double precision NOT NULL,
  "peak_1s_bytes_ab" bigint NOT NULL,
  "peak_1s_bytes_ba" bigint NOT NULL,
  "client_is_a" boolean,
  "handshake_server_ns" bigint,
  "handshake_client_ns" bigint,
  "handshake_total_ns" bigint,
  "rtt_data_ab_count" bigint,
  "rtt_data_ab_sum_ns" double precision,
  "rtt_data_ab_mean_ns" double precision,
  "rtt_data_ab_min_ns" bigint,
  "rtt_data_ab_max_ns" bigint,
  "rtt_data_ab_p50_ns" double precision,
  "rtt_data_ab_p95_ns" double precision,
  "rtt_data_ab_p99_ns" double precision,
  "rtt_data_ab_jitter_ns" double precision,
  "rtt_data_ab_delta_sum_ns" double precision,
  "rtt_data_ab_delta_count" bigint,
  "rtt_data_ba_count" bigint,
  "rtt_data_ba_sum_ns" double precision,
  "rtt_data_ba_mean_ns" double precision,
  "rtt_data_ba_min_ns" bigint,
  "rtt_data_ba_max_ns" bigint,
  "rtt_data_ba_p50_ns" double precision,
  "rtt_data_ba_p95_ns" double precision,
  "rtt_data_ba_p99_ns" double precision,
  "rtt_data_ba_jitter_ns" double precision,
  "rtt_data_ba_delta_sum_ns" double precision,
  "rtt_data_ba_delta_count" bigint,
  "rtt_ts_ab_count" bigint,
  "rtt_ts_ab_sum_ns" double precision,
  "rtt_ts_ab_mean_ns" double precision,
  "rtt_ts_ab_min_ns" bigint,
  "rtt_ts_ab_max_ns" bigint,
  "rtt_ts_ab_p50_ns" double precision,
  "rtt_ts_ab_p95_ns" double precision,
  "rtt_ts_ab_p99_ns" double precision,
  "rtt_ts_ab_jitter_ns" double precision,
  "rtt_ts_ab_delta_sum_ns" double precision,
  "rtt_ts_ab_delta_count" bigint,
  "rtt_ts_ba_count" bigint,
  "rtt_ts_ba_sum_ns" double precision,
  "rtt_ts_ba_mean_ns" double precision,
  "rtt_ts_ba_min_ns" bigint,
  "rtt_ts_ba_max_ns" bigint,
  "rtt_ts_ba_p50_ns" double precision,
  "rtt_ts_ba_p95_ns" double precision,
  "rtt_ts_ba_p99_ns" double precision,
  "rtt_ts_ba_jitter_ns" double precision,
  "rtt_ts_ba_delta_sum_ns" double precision,
  "rtt_ts_ba_delta_count" bigint,
  "rtt_icmp_echo_count" bigint,
  "rtt_icmp_echo_sum_ns" double precision,
  "rtt_icmp_echo_mean_ns" double precision,
  "rtt_icmp_echo_min_ns" bigint,
  "rtt_icmp_echo_max_ns" bigint,
  "rtt_icmp_echo_p50_ns" double precision,
  "rtt_icmp_echo_p95_ns" double precision,
  "rtt_icmp_echo_p99_ns" double precision,
  "rtt_icmp_echo_jitter_ns" double precision,
  "rtt_icmp_echo_delta_sum_ns" double precision,
  "rtt_icmp_echo_delta_count" bigint,
  "tcp_ab_data_segments" bigint,
  "tcp_ab_data_bytes" bigint,
  "tcp_ab_retransmitted_segments" bigint,
  "tcp_ab_retransmitted_bytes" bigint,
  "tcp_ab_lost_before_mirror_segments" bigint,
  "tcp_ab_out_of_order_segments" bigint,
  "tcp_ab_retransmission_rate" double precision,
  "tcp_ab_dup_acks" bigint,
  "tcp_ab_zero_windows" bigint,
  "tcp_ab_zero_window_probes" bigint,
  "tcp_ab_rtt_ambiguous" bigint,
  "tcp_ab_rtt_untracked_segments" bigint,
  "tcp_ab_acked_unseen_gaps" bigint,
  "tcp_ab_spurious_retransmissions" bigint,
  "tcp_ba_data_segments" bigint,
  "tcp_ba_data_bytes" bigint,
  "tcp_ba_retransmitted_segments" bigint,
  "tcp_ba_retransmitted_bytes" bigint,
  "tcp_ba_lost_before_mirror_segments" bigint,
  "tcp_ba_out_of_order_segments" bigint,
  "tcp_ba_retransmission_rate" double precision,
  "tcp_ba_dup_acks" bigint,
  "tcp_ba_zero_windows" bigint,
  "tcp_ba_zero_window_probes" bigint,
  "tcp_ba_rtt_ambiguous" bigint,
  "tcp_ba_rtt_untracked_segments" bigint,
  "tcp_ba_acked_unseen_gaps" bigint,
  "tcp_ba_spurious_retransmissions" bigint,
  "vm_a" text,
  "vm_b" text,
  "nic_capacity_a_bps" bigint,
  "nic_capacity_b_bps" bigint,
  "utilization_a_out" double precision,
  "utilization_a_in" double precision,
  "utilization_a_out_peak_1s" double precision,
  "utilization_a_in_peak_1s" double precision,
  "utilization_b_out" double precision,
  "utilization_b_in" double precision,
  "utilization_b_out_peak_1s" double precision,
  "utilization_b_in_peak_1s" double precision,
  PRIMARY KEY (flow_key, observation_point, window_start)
);
SELECT create_hypertable('flow_metrics', by_range('window_start', INTERVAL '1 day'), if_not_exists => TRUE);
COMMENT ON COLUMN flow_metrics."flow_key" IS 'direction-independent key, see lib/flow-key.ts';
COMMENT ON COLUMN flow_metrics."first_seen" IS 'first packet of the flow inside this window';
COMMENT ON COLUMN flow_metrics."packets_ab" IS 'sent by A (scaled by the sampling rate)';
COMMENT ON COLUMN flow_metrics."bytes_ab" IS 'wire bytes sent by A (scaled by the sampling rate)';
COMMENT ON COLUMN flow_metrics."throughput_ab_bps" IS 'bytes_ab / window length in seconds (bytes per second, mean over the window)';
COMMENT ON COLUMN flow_metrics."peak_1s_bytes_ab" IS 'largest byte count of one 1-second slot of the window (slots aligned to whole epoch seconds)';
COMMENT ON COLUMN flow_metrics."client_is_a" IS 'who sent the SYN, when a handshake packet of this flow fell into this window';
COMMENT ON COLUMN flow_metrics."handshake_server_ns" IS 'SYN-ACK - SYN: mirror -> server -> mirror; in the SYN-ACK''s window; null if the SYN was retransmitted (Karn)';
COMMENT ON COLUMN flow_metrics."handshake_client_ns" IS 'ACK - SYN-ACK: mirror -> client -> mirror; in the ACK''s window; null if the SYN-ACK was retransmitted';
COMMENT ON COLUMN flow_metrics."handshake_total_ns" IS 'ACK - SYN; null if either was retransmitted';
COMMENT ON COLUMN flow_metrics."rtt_data_ab_p50_ns" IS 'from the sketch (relative error <= relative_accuracy)';
COMMENT ON COLUMN flow_metrics."rtt_data_ab_jitter_ns" IS 'delta_sum_ns / delta_count: mean absolute difference of consecutive samples (the first sample of a window is compared with the last of the flow''s previous one)';
COMMENT ON COLUMN flow_metrics."rtt_data_ba_p50_ns" IS 'from the sketch (relative error <= relative_accuracy)';
COMMENT ON COLUMN flow_metrics."rtt_data_ba_jitter_ns" IS 'delta_sum_ns / delta_count: mean absolute difference of consecutive samples (the first sample of a window is compared with the last of the flow''s previous one)';
COMMENT ON COLUMN flow_metrics."rtt_ts_ab_p50_ns" IS 'from the sketch (relative error <= relative_accuracy)';
COMMENT ON COLUMN flow_metrics."rtt_ts_ab_jitter_ns" IS 'delta_sum_ns / delta_count: mean absolute difference of consecutive samples (the first sample of a window is compared with the last of the flow''s previous one)';
COMMENT ON COLUMN flow_metrics."rtt_ts_ba_p50_ns" IS 'from the sketch (relative error <= relative_accuracy)';
COMMENT ON COLUMN flow_metrics."rtt_ts_ba_jitter_ns" IS 'delta_sum_ns / delta_count: mean absolute difference of consecutive samples (the first sample of a window is compared with the last of the flow''s previous one)';
COMMENT ON COLUMN flow_metrics."rtt_icmp_echo_p50_ns" IS 'from the sketch (relative error <= relative_accuracy)';
COMMENT ON COLUMN flow_metrics."rtt_icmp_echo_jitter_ns" IS 'delta_sum_ns / delta_count: mean absolute difference of consecutive samples (the first sample of a window is compared with the last of the flow''s previous one)';
COMMENT ON COLUMN flow_metrics."tcp_ab_data_segments" IS 'segments with payload';
COMMENT ON COLUMN flow_metrics."tcp_ab_data_bytes" IS 'payload bytes (including retransmitted)';
COMMENT ON COLUMN flow_metrics."tcp_ab_retransmitted_segments" IS 'segments carrying sequence space already seen here: lost AFTER the mirror (or spurious)';
COMMENT ON COLUMN flow_metrics."tcp_ab_lost_before_mirror_segments" IS 'segments filling a sequence gap whose first fill was a retransmission: it came after the receiver signalled the gap 3 times (duplicate ACKs, SACKs of data above it) or later than max(handshake RTT, reorderThresholdMs = 3 ms) after the gap opened; the original never reached the mirror. The fills that continue a gap count as its first fill did';
COMMENT ON COLUMN flow_metrics."tcp_ab_out_of_order_segments" IS 'segments filling a sequence gap whose first fill had no evidence of a retransmission (reordering, not loss)';
COMMENT ON COLUMN flow_metrics."tcp_ab_retransmission_rate" IS '(retransmitted + lost_before_mirror) / data_segments; 0 without data';
COMMENT ON COLUMN flow_metrics."tcp_ab_dup_acks" IS 'duplicate ACKs sent by this side (pure ACK, same ack and window as the previous one, data outstanding: Wireshark''s definition)';
COMMENT ON COLUMN flow_metrics."tcp_ab_zero_windows" IS 'segments advertising a zero receive window (not SYN/FIN/RST)';
COMMENT ON COLUMN flow_metrics."tcp_ab_zero_window_probes" IS 'segments sent while the peer advertised a zero window (not used for loss or RTT)';
COMMENT ON COLUMN flow_metrics."tcp_ab_rtt_ambiguous" IS 'ACKs of retransmitted segments: no sample (Karn''s rule)';
COMMENT ON COLUMN flow_metrics."tcp_ab_rtt_untracked_segments" IS 'segments dropped from the bounded outstanding list before their ACK (no sample)';
COMMENT ON COLUMN flow_metrics."tcp_ab_acked_unseen_gaps" IS 'sequence gaps the receiver acknowledged although their data never passed the mirror: lost by the capture (mirror/sensor drops), not by the network';
COMMENT ON COLUMN flow_metrics."tcp_ab_spurious_retransmissions" IS 'D-SACKs the receiver sent for this side''s data (a SACK block below the cumulative ACK or inside the next block, RFC 2883): segments it got twice, i.e. unnecessary retransmissions (included in retransmitted_segments)';
COMMENT ON COLUMN flow_metrics."tcp_ba_data_segments" IS 'segments with payload';
COMMENT ON COLUMN flow_metrics."tcp_ba_data_bytes" IS 'payload bytes (including retransmitted)';
COMMENT ON COLUMN flow_metrics."tcp_ba_retransmitted_segments" IS 'segments carrying sequence space already seen here: lost AFTER the mirror (or spurious)';
COMMENT ON COLUMN flow_metrics."tcp_ba_lost_before_mirror_segments" IS 'segments filling a sequence gap whose first fill was a retransmission: it came after the receiver signalled the gap 3 times (duplicate ACKs, SACKs of data above it) or later than max(handshake RTT, reorderThresholdMs = 3 ms) after the gap opened; the original never reached the mirror. The fills that continue a gap count as its first fill did';
COMMENT ON COLUMN flow_metrics."tcp_ba_out_of_order_segments" IS 'segments filling a sequence gap whose first fill had no evidence of a retransmission (reordering, not loss)';
COMMENT ON COLUMN flow_metrics."tcp_ba_retransmission_rate" IS '(retransmitted + lost_before_mirror) / data_segments; 0 without data';
COMMENT ON COLUMN flow_metrics."tcp_ba_dup_acks" IS 'duplicate ACKs sent by this side (pure ACK, same ack and window as the previous one, data outstanding: Wireshark''s definition)';
COMMENT ON COLUMN flow_metrics."tcp_ba_zero_windows" IS 'segments advertising a zero receive window (not SYN/FIN/RST)';
COMMENT ON COLUMN flow_metrics."tcp_ba_zero_window_probes" IS 'segments sent while the peer advertised a zero window (not used for loss or RTT)';
COMMENT ON COLUMN flow_metrics."tcp_ba_rtt_ambiguous" IS 'ACKs of retransmitted segments: no sample (Karn''s rule)';
COMMENT ON COLUMN flow_metrics."tcp_ba_rtt_untracked_segments" IS 'segments dropped from the bounded outstanding list before their ACK (no sample)';
COMMENT ON COLUMN flow_metrics."tcp_ba_acked_unseen_gaps" IS 'sequence gaps the receiver acknowledged although their data never passed the mirror: lost by the capture (mirror/sensor drops), not by the network';
COMMENT ON COLUMN flow_metrics."tcp_ba_spurious_retransmissions" IS 'D-SACKs the receiver sent for this side''s data (a SACK block below the cumulative ACK or inside the next block, RFC 2883): segments it got twice, i.e. unnecessary retransmissions (included in retransmitted_segments)';
COMMENT ON COLUMN flow_metrics."vm_a" IS 'inventory VM (vm_id) holding addr_a at first_seen_ns (global table inventory, tapline.inventory.v1); null: not an inventory address';
COMMENT ON COLUMN flow_metrics."nic_capacity_a_bps" IS 'vm_a''s NIC capacity in bits/s (the inventory version valid at first_seen_ns); null when unknown';
COMMENT ON COLUMN flow_metrics."utilization_a_out" IS '8 * throughput_ab_bps (bytes/s sent by A, window mean) / nic_capacity_a_bps; null without a capacity';
COMMENT ON COLUMN flow_metrics."utilization_a_in" IS '8 * throughput_ba_bps (received by A) / nic_capacity_a_bps';
COMMENT ON COLUMN flow_metrics."utilization_a_out_peak_1s" IS '8 * peak_1s_bytes_ab / nic_capacity_a_bps (busiest epoch-aligned second)';
COMMENT ON COLUMN flow_metrics."utilization_a_in_peak_1s" IS '8 * peak_1s_bytes_ba / nic_capacity_a_bps';
COMMENT ON COLUMN flow_metrics."utilization_b_out" IS '8 * throughput_ba_bps (sent by B) / nic_capacity_b_bps';
COMMENT ON COLUMN flow_metrics."utilization_b_in" IS '8 * throughput_ab_bps (received by B) / nic_capacity_b_bps';
COMMENT ON COLUMN flow_metrics."utilization_b_out_peak_1s" IS '8 * peak_1s_bytes_ba / nic_capacity_b_bps';
COMMENT ON COLUMN flow_metrics."utilization_b_in_peak_1s" IS '8 * peak_1s_bytes_ab / nic_capacity_b_bps';
CREATE INDEX IF NOT EXISTS flow_metrics_vms ON flow_metrics (vm_a, vm_b, window_start DESC);
COMMENT ON TABLE flow_metrics IS 'tapline: RTT (handshake, data->ACK, TCP timestamps, ICMP echo), throughput, utilization and TCP loss indicators per bidirectional flow, observation point and window. a = lower (address, port) endpoint; ab = sent by a; RTTs in ns measured at the mirror. rtt_<kind>_* are null when the window had no sample of that kind. Exact percentiles over several windows: rtt_sketch_bins. Topic tapline.flow-metrics.v1';
