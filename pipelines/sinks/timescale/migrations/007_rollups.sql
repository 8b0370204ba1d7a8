-- Totals per window, dimension and key from the rollup stage. One record per input partition
-- (source_partition): sum the rows of a (window, dimension, key).
CREATE TABLE IF NOT EXISTS rollups (
  "window_start" timestamptz NOT NULL,
  "window_end" timestamptz NOT NULL,
  "dimension" text NOT NULL,
  "key" text NOT NULL,
  "packets_fwd" bigint NOT NULL,
  "bytes_fwd" bigint NOT NULL,
  "packets_rev" bigint NOT NULL,
  "bytes_rev" bigint NOT NULL,
  "flows" bigint NOT NULL,
  "source_partition" integer NOT NULL,
  PRIMARY KEY (dimension, key, source_partition, window_start)
);
SELECT create_hypertable('rollups', by_range('window_start', INTERVAL '1 day'), if_not_exists => TRUE);
COMMENT ON COLUMN rollups."key" IS 'vm_id, ''src->dst'', protocol name, ''proto/port'', ''host->host'' or tenant; ''external'' for a non-VM endpoint, ''unknown'' when not known';
COMMENT ON COLUMN rollups."packets_fwd" IS 'packets src -> dst';
COMMENT ON COLUMN rollups."packets_rev" IS 'packets dst -> src';
COMMENT ON COLUMN rollups."flows" IS 'flow windows counted';
CREATE INDEX IF NOT EXISTS rollups_dimension_key ON rollups (dimension, key, window_start DESC);
COMMENT ON TABLE rollups IS 'tapline: identified-flow totals per window for one key of one dimension (src_vm, dst_vm, vm_pair, protocol, service_port, host_pair, tenant); src = client side, dst = service side. Rows of several source_partition values for one (window_start, dimension, key) must be summed. Topic tapline.rollups.v1';
COMMENT ON COLUMN rollups.source_partition IS 'input partition whose flows this row totals; sum over it';
COMMENT ON COLUMN rollups.dimension IS 'src_vm, dst_vm, vm_pair, protocol, service_port, host_pair or tenant';
