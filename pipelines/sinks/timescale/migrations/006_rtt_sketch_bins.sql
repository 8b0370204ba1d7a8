-- DDSketch bins of the RTTs in flow_metrics: one row per (flow, observation point, window, kind,
-- bin). Summing count per (kind, bin) over any set of windows with the same gamma gives the
-- merged sketch, so rolled-up percentiles are exact to the sketch's relative accuracy.
CREATE TABLE IF NOT EXISTS rtt_sketch_bins (
  "window_start" timestamptz NOT NULL,
  "window_end" timestamptz NOT NULL,
  "observation_point" text NOT NULL,
  "flow_key" text NOT NULL,
  "vm_a" text,
  "vm_b" text,
  "addr_a" inet NOT NULL,
  "addr_b" inet NOT NULL,
  "kind" text NOT NULL,
  "gamma" double precision NOT NULL,
  "bin" integer NOT NULL,
  "count" double precision NOT NULL,
  PRIMARY KEY (flow_key, observation_point, kind, bin, window_start)
);
SELECT create_hypertable('rtt_sketch_bins', by_range('window_start', INTERVAL '1 day'), if_not_exists => TRUE);
ALTER TABLE rtt_sketch_bins DROP CONSTRAINT IF EXISTS rtt_sketch_bins_kind_check;
ALTER TABLE rtt_sketch_bins ADD CONSTRAINT rtt_sketch_bins_kind_check CHECK (kind IN ('data_ab', 'data_ba', 'ts_ab', 'ts_ba', 'icmp_echo'));
CREATE INDEX IF NOT EXISTS rtt_sketch_bins_vms ON rtt_sketch_bins (vm_a, vm_b, window_start DESC);
COMMENT ON TABLE rtt_sketch_bins IS 'tapline: DDSketch bins of the RTT samples of flow_metrics (one row per flow, observation point, window, kind and bin). A sample v > 0 ns is counted in bin ceil(log_gamma(v)); its value is ~ 2*gamma^bin/(gamma+1). Sum count per (kind, bin) over windows to merge sketches, then walk bins in order to a rank for a percentile';
COMMENT ON COLUMN rtt_sketch_bins.kind IS 'which RttStats of flow_metrics: data_ab (rtt_data_ab), data_ba, ts_ab, ts_ba, icmp_echo';
COMMENT ON COLUMN rtt_sketch_bins.gamma IS 'sketch base: (1 + relative_accuracy) / (1 - relative_accuracy); only bins with the same gamma may be summed';
COMMENT ON COLUMN rtt_sketch_bins.bin IS 'sketch key ceil(log_gamma(rtt_ns)); -2147483648 = the zero bin (samples of 0 ns)';
COMMENT ON COLUMN rtt_sketch_bins.count IS 'samples in this bin (double: DDSketch counts)';
COMMENT ON COLUMN rtt_sketch_bins.vm_a IS 'flow_metrics.vm_a: inventory VM holding addr_a, null if none';
