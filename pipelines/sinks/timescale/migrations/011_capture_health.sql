-- Health reports of live captures.
CREATE TABLE IF NOT EXISTS capture_health (
  "ts" timestamptz NOT NULL,
  "started" timestamptz NOT NULL,
  "connector" text NOT NULL,
  "host" text NOT NULL,
  "interface" text NOT NULL,
  "observation_point" text NOT NULL,
  "filter" text NOT NULL,
  "link_type" integer NOT NULL,
  "snaplen" integer NOT NULL,
  "final" boolean NOT NULL,
  "packets_seen" bigint NOT NULL,
  "bytes_seen" bigint NOT NULL,
  "packets_truncated" bigint NOT NULL,
  "packets_published" bigint NOT NULL,
  "pipeline_drops" bigint NOT NULL,
  "pipeline_drops_by_reason" jsonb NOT NULL,
  "kernel_drops" bigint,
  "interface_drops" bigint,
  "interface_packets" bigint,
  "malformed" bigint NOT NULL,
  "malformed_by_code" jsonb NOT NULL,
  "queue_depth" integer NOT NULL,
  "queue_capacity" integer NOT NULL,
  "capturing" boolean NOT NULL,
  "capture_restarts" bigint NOT NULL,
  "last_error" text,
  PRIMARY KEY (observation_point, host, ts)
);
SELECT create_hypertable('capture_health', by_range('ts', INTERVAL '7 days'), if_not_exists => TRUE);
COMMENT ON COLUMN capture_health."ts" IS 'wall-clock time of this report, ns since the epoch';
COMMENT ON COLUMN capture_health."started" IS 'when the capture was opened';
COMMENT ON COLUMN capture_health."connector" IS 'connector type, e.g. pcap-live';
COMMENT ON COLUMN capture_health."host" IS 'hostname of the capturing machine';
COMMENT ON COLUMN capture_health."filter" IS 'BPF filter in force, empty for none';
COMMENT ON COLUMN capture_health."link_type" IS 'LINKTYPE_* of the device';
COMMENT ON COLUMN capture_health."final" IS 'true for the last report, sent when the capture is closed';
COMMENT ON COLUMN capture_health."packets_seen" IS 'frames libpcap delivered to tapline';
COMMENT ON COLUMN capture_health."bytes_seen" IS 'sum of their wire lengths';
COMMENT ON COLUMN capture_health."packets_truncated" IS 'frames cut at snaplen';
COMMENT ON COLUMN capture_health."packets_published" IS 'summaries acknowledged by Kafka';
COMMENT ON COLUMN capture_health."pipeline_drops" IS 'frames tapline dropped itself (all reasons), never blocking the capture';
COMMENT ON COLUMN capture_health."pipeline_drops_by_reason" IS 'queue-full: Kafka slower than the wire; pipe-full: tapline slower than its capture helper; send-failed: a batch Kafka refused; close-timeout: left when closing';
COMMENT ON COLUMN capture_health."kernel_drops" IS 'pcap_stats ps_drop (no room in the kernel buffer); null when the capture library does not expose it (cap 0.2.1 does not)';
COMMENT ON COLUMN capture_health."interface_drops" IS 'pcap_stats ps_ifdrop, or on Linux the increase of /sys/class/net/<if>/statistics/rx_dropped since open (what libpcap itself reports there); null when unreadable';
COMMENT ON COLUMN capture_health."interface_packets" IS 'increase of the interface''s rx_packets + tx_packets since open (Linux sysfs), for comparison with packets_seen when no filter is set; null when unreadable';
COMMENT ON COLUMN capture_health."malformed" IS 'frames the decoder marked malformed (published all the same)';
COMMENT ON COLUMN capture_health."queue_depth" IS 'summaries waiting for Kafka now';
COMMENT ON COLUMN capture_health."capturing" IS 'false while the device is being reopened (it went down or away)';
COMMENT ON COLUMN capture_health."capture_restarts" IS 'times the capture was reopened after it stopped by itself';
COMMENT ON COLUMN capture_health."last_error" IS 'why the capture last stopped or could not be reopened';
COMMENT ON TABLE capture_health IS 'tapline: periodic health report of one live capture; counters are cumulative since started, rates come from differences of consecutive rows. Topic tapline.capture-health.v1';
