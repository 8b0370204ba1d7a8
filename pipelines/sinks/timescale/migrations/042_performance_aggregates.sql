-- Performance continuous aggregates, hierarchical like the traffic ones (041):
--   flow_metrics    -> latency_pair_1m -> latency_pair_1h -> latency_pair_1d
--   rtt_sketch_bins -> rtt_sketch_1m   -> rtt_sketch_1h   -> rtt_sketch_1d
-- RTT: count, sum, min, max and the jitter's delta sums add up exactly; percentiles do NOT, so
-- the DDSketch bins are summed per key instead (rtt_sketch_*), and p50/p95/p99 of any bucket or
-- range are read from the merged bins with tapline_sketch_quantile (040): an hour's p95 is the p95
-- of all the hour's samples (to the sketch's relative accuracy), not an average of minute p95s.
-- Loss: TCP data segments, retransmitted and lost-before-mirror segments per direction.
-- Utilization: the highest window mean and 1-second peak seen per bucket (max of maxes).
-- Grouped by VM pair (vm_a, vm_b; NULL = an endpoint that is not an inventory VM).

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_pair_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', window_start) AS bucket, vm_a, vm_b,
       sum(packets_ab)::bigint AS packets_ab, sum(packets_ba)::bigint AS packets_ba, sum(bytes_ab)::bigint AS bytes_ab, sum(bytes_ba)::bigint AS bytes_ba,
       count(*)::bigint AS flow_windows, max(nic_capacity_a_bps) AS nic_capacity_a_bps, max(nic_capacity_b_bps) AS nic_capacity_b_bps,
       sum(rtt_data_ab_count)::bigint AS rtt_data_ab_count, sum(rtt_data_ab_sum_ns) AS rtt_data_ab_sum_ns, min(rtt_data_ab_min_ns) AS rtt_data_ab_min_ns, max(rtt_data_ab_max_ns) AS rtt_data_ab_max_ns,
       sum(rtt_data_ab_delta_sum_ns) AS rtt_data_ab_delta_sum_ns, sum(rtt_data_ab_delta_count)::bigint AS rtt_data_ab_delta_count,
       sum(rtt_data_ba_count)::bigint AS rtt_data_ba_count, sum(rtt_data_ba_sum_ns) AS rtt_data_ba_sum_ns, min(rtt_data_ba_min_ns) AS rtt_data_ba_min_ns, max(rtt_data_ba_max_ns) AS rtt_data_ba_max_ns,
       sum(rtt_data_ba_delta_sum_ns) AS rtt_data_ba_delta_sum_ns, sum(rtt_data_ba_delta_count)::bigint AS rtt_data_ba_delta_count,
       sum(rtt_ts_ab_count)::bigint AS rtt_ts_ab_count, sum(rtt_ts_ab_sum_ns) AS rtt_ts_ab_sum_ns, min(rtt_ts_ab_min_ns) AS rtt_ts_ab_min_ns, max(rtt_ts_ab_max_ns) AS rtt_ts_ab_max_ns,
       sum(rtt_ts_ab_delta_sum_ns) AS rtt_ts_ab_delta_sum_ns, sum(rtt_ts_ab_delta_count)::bigint AS rtt_ts_ab_delta_count,
       sum(rtt_ts_ba_count)::bigint AS rtt_ts_ba_count, sum(rtt_ts_ba_sum_ns) AS rtt_ts_ba_sum_ns, min(rtt_ts_ba_min_ns) AS rtt_ts_ba_min_ns, max(rtt_ts_ba_max_ns) AS rtt_ts_ba_max_ns,
       sum(rtt_ts_ba_delta_sum_ns) AS rtt_ts_ba_delta_sum_ns, sum(rtt_ts_ba_delta_count)::bigint AS rtt_ts_ba_delta_count,
       sum(rtt_icmp_echo_count)::bigint AS rtt_icmp_echo_count, sum(rtt_icmp_echo_sum_ns) AS rtt_icmp_echo_sum_ns, min(rtt_icmp_echo_min_ns) AS rtt_icmp_echo_min_ns, max(rtt_icmp_echo_max_ns) AS rtt_icmp_echo_max_ns,
       sum(rtt_icmp_echo_delta_sum_ns) AS rtt_icmp_echo_delta_sum_ns, sum(rtt_icmp_echo_delta_count)::bigint AS rtt_icmp_echo_delta_count,
       sum(tcp_ab_data_segments)::bigint AS tcp_ab_data_segments,
       sum(tcp_ab_retransmitted_segments)::bigint AS tcp_ab_retransmitted_segments,
       sum(tcp_ab_lost_before_mirror_segments)::bigint AS tcp_ab_lost_before_mirror_segments,
       sum(tcp_ba_data_segments)::bigint AS tcp_ba_data_segments,
       sum(tcp_ba_retransmitted_segments)::bigint AS tcp_ba_retransmitted_segments,
       sum(tcp_ba_lost_before_mirror_segments)::bigint AS tcp_ba_lost_before_mirror_segments,
       max(utilization_a_out_peak_1s) AS max_utilization_a_out_peak_1s,
       max(utilization_a_in_peak_1s) AS max_utilization_a_in_peak_1s,
       max(utilization_b_out_peak_1s) AS max_utilization_b_out_peak_1s,
       max(utilization_b_in_peak_1s) AS max_utilization_b_in_peak_1s,
       max(utilization_a_out) AS max_utilization_a_out,
       max(utilization_a_in) AS max_utilization_a_in,
       max(utilization_b_out) AS max_utilization_b_out,
       max(utilization_b_in) AS max_utilization_b_in
FROM flow_metrics
GROUP BY 1, vm_a, vm_b
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_pair_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, vm_a, vm_b,
       sum(packets_ab)::bigint AS packets_ab, sum(packets_ba)::bigint AS packets_ba, sum(bytes_ab)::bigint AS bytes_ab, sum(bytes_ba)::bigint AS bytes_ba,
       sum(flow_windows)::bigint AS flow_windows, max(nic_capacity_a_bps) AS nic_capacity_a_bps, max(nic_capacity_b_bps) AS nic_capacity_b_bps,
       sum(rtt_data_ab_count)::bigint AS rtt_data_ab_count, sum(rtt_data_ab_sum_ns) AS rtt_data_ab_sum_ns, min(rtt_data_ab_min_ns) AS rtt_data_ab_min_ns, max(rtt_data_ab_max_ns) AS rtt_data_ab_max_ns,
       sum(rtt_data_ab_delta_sum_ns) AS rtt_data_ab_delta_sum_ns, sum(rtt_data_ab_delta_count)::bigint AS rtt_data_ab_delta_count,
       sum(rtt_data_ba_count)::bigint AS rtt_data_ba_count, sum(rtt_data_ba_sum_ns) AS rtt_data_ba_sum_ns, min(rtt_data_ba_min_ns) AS rtt_data_ba_min_ns, max(rtt_data_ba_max_ns) AS rtt_data_ba_max_ns,
       sum(rtt_data_ba_delta_sum_ns) AS rtt_data_ba_delta_sum_ns, sum(rtt_data_ba_delta_count)::bigint AS rtt_data_ba_delta_count,
       sum(rtt_ts_ab_count)::bigint AS rtt_ts_ab_count, sum(rtt_ts_ab_sum_ns) AS rtt_ts_ab_sum_ns, min(rtt_ts_ab_min_ns) AS rtt_ts_ab_min_ns, max(rtt_ts_ab_max_ns) AS rtt_ts_ab_max_ns,
       sum(rtt_ts_ab_delta_sum_ns) AS rtt_ts_ab_delta_sum_ns, sum(rtt_ts_ab_delta_count)::bigint AS rtt_ts_ab_delta_count,
       sum(rtt_ts_ba_count)::bigint AS rtt_ts_ba_count, sum(rtt_ts_ba_sum_ns) AS rtt_ts_ba_sum_ns, min(rtt_ts_ba_min_ns) AS rtt_ts_ba_min_ns, max(rtt_ts_ba_max_ns) AS rtt_ts_ba_max_ns,
       sum(rtt_ts_ba_delta_sum_ns) AS rtt_ts_ba_delta_sum_ns, sum(rtt_ts_ba_delta_count)::bigint AS rtt_ts_ba_delta_count,
       sum(rtt_icmp_echo_count)::bigint AS rtt_icmp_echo_count, sum(rtt_icmp_echo_sum_ns) AS rtt_icmp_echo_sum_ns, min(rtt_icmp_echo_min_ns) AS rtt_icmp_echo_min_ns, max(rtt_icmp_echo_max_ns) AS rtt_icmp_echo_max_ns,
       sum(rtt_icmp_echo_delta_sum_ns) AS rtt_icmp_echo_delta_sum_ns, sum(rtt_icmp_echo_delta_count)::bigint AS rtt_icmp_echo_delta_count,
       sum(tcp_ab_data_segments)::bigint AS tcp_ab_data_segments,
       sum(tcp_ab_retransmitted_segments)::bigint AS tcp_ab_retransmitted_segments,
       sum(tcp_ab_lost_before_mirror_segments)::bigint AS tcp_ab_lost_before_mirror_segments,
       sum(tcp_ba_data_segments)::bigint AS tcp_ba_data_segments,
       sum(tcp_ba_retransmitted_segments)::bigint AS tcp_ba_retransmitted_segments,
       sum(tcp_ba_lost_before_mirror_segments)::bigint AS tcp_ba_lost_before_mirror_segments,
       max(max_utilization_a_out_peak_1s) AS max_utilization_a_out_peak_1s,
       max(max_utilization_a_in_peak_1s) AS max_utilization_a_in_peak_1s,
       max(max_utilization_b_out_peak_1s) AS max_utilization_b_out_peak_1s,
       max(max_utilization_b_in_peak_1s) AS max_utilization_b_in_peak_1s,
       max(max_utilization_a_out) AS max_utilization_a_out,
       max(max_utilization_a_in) AS max_utilization_a_in,
       max(max_utilization_b_out) AS max_utilization_b_out,
       max(max_utilization_b_in) AS max_utilization_b_in
FROM latency_pair_1m
GROUP BY 1, vm_a, vm_b
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_pair_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket, vm_a, vm_b,
       sum(packets_ab)::bigint AS packets_ab, sum(packets_ba)::bigint AS packets_ba, sum(bytes_ab)::bigint AS bytes_ab, sum(bytes_ba)::bigint AS bytes_ba,
       sum(flow_windows)::bigint AS flow_windows, max(nic_capacity_a_bps) AS nic_capacity_a_bps, max(nic_capacity_b_bps) AS nic_capacity_b_bps,
       sum(rtt_data_ab_count)::bigint AS rtt_data_ab_count, sum(rtt_data_ab_sum_ns) AS rtt_data_ab_sum_ns, min(rtt_data_ab_min_ns) AS rtt_data_ab_min_ns, max(rtt_data_ab_max_ns) AS rtt_data_ab_max_ns,
       sum(rtt_data_ab_delta_sum_ns) AS rtt_data_ab_delta_sum_ns, sum(rtt_data_ab_delta_count)::bigint AS rtt_data_ab_delta_count,
       sum(rtt_data_ba_count)::bigint AS rtt_data_ba_count, sum(rtt_data_ba_sum_ns) AS rtt_data_ba_sum_ns, min(rtt_data_ba_min_ns) AS rtt_data_ba_min_ns, max(rtt_data_ba_max_ns) AS rtt_data_ba_max_ns,
       sum(rtt_data_ba_delta_sum_ns) AS rtt_data_ba_delta_sum_ns, sum(rtt_data_ba_delta_count)::bigint AS rtt_data_ba_delta_count,
       sum(rtt_ts_ab_count)::bigint AS rtt_ts_ab_count, sum(rtt_ts_ab_sum_ns) AS rtt_ts_ab_sum_ns, min(rtt_ts_ab_min_ns) AS rtt_ts_ab_min_ns, max(rtt_ts_ab_max_ns) AS rtt_ts_ab_max_ns,
       sum(rtt_ts_ab_delta_sum_ns) AS rtt_ts_ab_delta_sum_ns, sum(rtt_ts_ab_delta_count)::bigint AS rtt_ts_ab_delta_count,
       sum(rtt_ts_ba_count)::bigint AS rtt_ts_ba_count, sum(rtt_ts_ba_sum_ns) AS rtt_ts_ba_sum_ns, min(rtt_ts_ba_min_ns) AS rtt_ts_ba_min_ns, max(rtt_ts_ba_max_ns) AS rtt_ts_ba_max_ns,
       sum(rtt_ts_ba_delta_sum_ns) AS rtt_ts_ba_delta_sum_ns, sum(rtt_ts_ba_delta_count)::bigint AS rtt_ts_ba_delta_count,
       sum(rtt_icmp_echo_count)::bigint AS rtt_icmp_echo_count, sum(rtt_icmp_echo_sum_ns) AS rtt_icmp_echo_sum_ns, min(rtt_icmp_echo_min_ns) AS rtt_icmp_echo_min_ns, max(rtt_icmp_echo_max_ns) AS rtt_icmp_echo_max_ns,
       sum(rtt_icmp_echo_delta_sum_ns) AS rtt_icmp_echo_delta_sum_ns, sum(rtt_icmp_echo_delta_count)::bigint AS rtt_icmp_echo_delta_count,
       sum(tcp_ab_data_segments)::bigint AS tcp_ab_data_segments,
       sum(tcp_ab_retransmitted_segments)::bigint AS tcp_ab_retransmitted_segments,
       sum(tcp_ab_lost_before_mirror_segments)::bigint AS tcp_ab_lost_before_mirror_segments,
       sum(tcp_ba_data_segments)::bigint AS tcp_ba_data_segments,
       sum(tcp_ba_retransmitted_segments)::bigint AS tcp_ba_retransmitted_segments,
       sum(tcp_ba_lost_before_mirror_segments)::bigint AS tcp_ba_lost_before_mirror_segments,
       max(max_utilization_a_out_peak_1s) AS max_utilization_a_out_peak_1s,
       max(max_utilization_a_in_peak_1s) AS max_utilization_a_in_peak_1s,
       max(max_utilization_b_out_peak_1s) AS max_utilization_b_out_peak_1s,
       max(max_utilization_b_in_peak_1s) AS max_utilization_b_in_peak_1s,
       max(max_utilization_a_out) AS max_utilization_a_out,
       max(max_utilization_a_in) AS max_utilization_a_in,
       max(max_utilization_b_out) AS max_utilization_b_out,
       max(max_utilization_b_in) AS max_utilization_b_in
FROM latency_pair_1h
GROUP BY 1, vm_a, vm_b
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS rtt_sketch_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', window_start) AS bucket, vm_a, vm_b, kind, gamma, bin, sum(count) AS count
FROM rtt_sketch_bins
GROUP BY 1, vm_a, vm_b, kind, gamma, bin
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS rtt_sketch_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, vm_a, vm_b, kind, gamma, bin, sum(count) AS count
FROM rtt_sketch_1m
GROUP BY 1, vm_a, vm_b, kind, gamma, bin
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS rtt_sketch_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket, vm_a, vm_b, kind, gamma, bin, sum(count) AS count
FROM rtt_sketch_1h
GROUP BY 1, vm_a, vm_b, kind, gamma, bin
WITH NO DATA;
