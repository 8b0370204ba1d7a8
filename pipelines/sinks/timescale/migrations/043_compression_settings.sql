-- Columnar compression settings of the big hypertables. WHICH chunks get compressed (and when
-- old ones are dropped) is the storage configuration's business (lib/db/storage-policies.ts adds
-- the policies; lib/db/jobs.ts runs them on the embedded server, which has no background workers).
-- segmentby = what queries filter on and what keeps rows of one series together (a flow, or a
-- VM pair for the sketch bins); orderby = time, newest first, as most queries read.
ALTER TABLE flow_windows SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'flow_key', timescaledb.compress_orderby = 'window_start DESC, observation_point');
ALTER TABLE identified_flows SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'flow_key', timescaledb.compress_orderby = 'window_start DESC, observation_point');
ALTER TABLE flow_metrics SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'flow_key', timescaledb.compress_orderby = 'window_start DESC, observation_point');
ALTER TABLE rtt_sketch_bins SET (timescaledb.compress,
  timescaledb.compress_segmentby = 'vm_a, vm_b, kind', timescaledb.compress_orderby = 'window_start DESC, flow_key, observation_point, bin');
