-- Traffic continuous aggregates, hierarchical: identified_flows -> 1 minute -> 1 hour -> 1 day.
-- Each level aggregates the level below (sums of sums, min of mins, max of maxes), so an hour is
-- exactly its minutes. Real-time aggregation is on (materialized_only = false): rows newer than
-- a level's last refresh are computed from the level below at query time, so a query never
-- misses recent data; the refresh policies (tapline storage config, lib/db/storage-policies.ts)
-- only make reads faster.
-- Windows are counted in the bucket where they START; this assumes tumbling aggregate windows
-- (hopping windows overlap and would be counted several times).
-- One row per VM pair as seen at one observation point: the same flow mirrored at two points is
-- two rows; the analyst functions (044) keep the busiest observation point per pair and bucket.

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_pair_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', window_start) AS bucket,
       observation_point, a_vm, b_vm, a_name, b_name, a_host, b_host, a_tenant, b_tenant, traffic_class::text AS traffic_class,
       sum(packets_ab)::bigint AS packets_ab, sum(bytes_ab)::bigint AS bytes_ab,
       sum(packets_ba)::bigint AS packets_ba, sum(bytes_ba)::bigint AS bytes_ba,
       count(*)::bigint AS flow_windows, sum(syn_count)::bigint AS syn_count, sum(rst_count)::bigint AS rst_count,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM identified_flows
GROUP BY 1, observation_point, a_vm, b_vm, a_name, b_name, a_host, b_host, a_tenant, b_tenant, traffic_class
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_pair_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       observation_point, a_vm, b_vm, a_name, b_name, a_host, b_host, a_tenant, b_tenant, traffic_class,
       sum(packets_ab)::bigint AS packets_ab, sum(bytes_ab)::bigint AS bytes_ab,
       sum(packets_ba)::bigint AS packets_ba, sum(bytes_ba)::bigint AS bytes_ba,
       sum(flow_windows)::bigint AS flow_windows, sum(syn_count)::bigint AS syn_count, sum(rst_count)::bigint AS rst_count,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM traffic_pair_1m
GROUP BY 1, observation_point, a_vm, b_vm, a_name, b_name, a_host, b_host, a_tenant, b_tenant, traffic_class
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_pair_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket,
       observation_point, a_vm, b_vm, a_name, b_name, a_host, b_host, a_tenant, b_tenant, traffic_class,
       sum(packets_ab)::bigint AS packets_ab, sum(bytes_ab)::bigint AS bytes_ab,
       sum(packets_ba)::bigint AS packets_ba, sum(bytes_ba)::bigint AS bytes_ba,
       sum(flow_windows)::bigint AS flow_windows, sum(syn_count)::bigint AS syn_count, sum(rst_count)::bigint AS rst_count,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM traffic_pair_1h
GROUP BY 1, observation_point, a_vm, b_vm, a_name, b_name, a_host, b_host, a_tenant, b_tenant, traffic_class
WITH NO DATA;

-- Per protocol and service port, from all flow windows (identified or not). service_port is the
-- lower of the two ports for TCP/UDP/SCTP (servers usually listen on the lower, well-known
-- port; clients use ephemeral ones), 0 for protocols without ports.
CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_service_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', window_start) AS bucket, observation_point, ip_proto,
       CASE WHEN ip_proto IN (6, 17, 132) THEN least(port_a, port_b) ELSE 0 END AS service_port,
       sum(packets_ab + packets_ba)::bigint AS packets, sum(bytes_ab + bytes_ba)::bigint AS bytes,
       count(*)::bigint AS flow_windows
FROM flow_windows
GROUP BY 1, observation_point, ip_proto, 4
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_service_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, observation_point, ip_proto, service_port,
       sum(packets)::bigint AS packets, sum(bytes)::bigint AS bytes, sum(flow_windows)::bigint AS flow_windows
FROM traffic_service_1m
GROUP BY 1, observation_point, ip_proto, service_port
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_service_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket) AS bucket, observation_point, ip_proto, service_port,
       sum(packets)::bigint AS packets, sum(bytes)::bigint AS bytes, sum(flow_windows)::bigint AS flow_windows
FROM traffic_service_1h
GROUP BY 1, observation_point, ip_proto, service_port
WITH NO DATA;
