-- Columnar compression settings of the big hypertables. WHICH chunks get compressed (and when
-- old ones are dropped) is the storage configuration's business (lib/db/storage-policies.ts adds
-- the policies; lib/db/jobs.ts runs them on the embedded server, which has no background workers).
-- segmentby = what queries filter on AND what gives each segment many rows: most flows are
-- short-lived (a few windows), so segmenting by flow key leaves segments of a handful of rows
-- that compress worse than not at all ("poor compression rate" on the demo data); a VM pair
-- collects all its flows. flow_windows has no VM columns: its segments are per observation point.
-- orderby = time, newest first, as most queries read, then the flow so a flow's rows sit together.
ALTER TABLE flow_windows SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'observation_point', timescaledb.compress_orderby = 'window_start DESC, flow_key');
ALTER TABLE identified_flows SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'a_vm, b_vm', timescaledb.compress_orderby = 'window_start DESC, flow_key, observation_point');
ALTER TABLE flow_metrics SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'vm_a, vm_b', timescaledb.compress_orderby = 'window_start DESC, flow_key, observation_point');
ALTER TABLE rtt_sketch_bins SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'vm_a, vm_b, kind', timescaledb.compress_orderby = 'window_start DESC, flow_key, observation_point, bin');
