-- Loss and one-way delay between two observation points, per flow direction and window.
CREATE TABLE IF NOT EXISTS path_loss (
  "window_start" timestamptz NOT NULL,
  "window_end" timestamptz NOT NULL,
  "flow_key" text NOT NULL,
  "ip_proto" integer NOT NULL,
  "src_ip" inet NOT NULL,
  "src_port" integer NOT NULL,
  "dst_ip" inet NOT NULL,
  "dst_port" integer NOT NULL,
  "upstream_point" text NOT NULL,
  "downstream_point" text NOT NULL,
  "orientation" text NOT NULL,
  "seen_upstream" bigint NOT NULL,
  "seen_downstream" bigint NOT NULL,
  "matched" bigint NOT NULL,
  "lost" bigint NOT NULL,
  "extra" bigint NOT NULL,
  "duplicates_upstream" bigint NOT NULL,
  "duplicates_downstream" bigint NOT NULL,
  "evicted" bigint NOT NULL,
  "delay_mean_ns" double precision,
  "delay_min_ns" bigint,
  "delay_max_ns" bigint,
  PRIMARY KEY (flow_key, src_ip, src_port, upstream_point, downstream_point, window_start)
);
SELECT create_hypertable('path_loss', by_range('window_start', INTERVAL '1 day'), if_not_exists => TRUE);
COMMENT ON COLUMN path_loss."flow_key" IS 'direction-independent key, see lib/flow-key.ts';
COMMENT ON COLUMN path_loss."src_ip" IS 'sender of the packets this record counts (the direction)';
COMMENT ON COLUMN path_loss."src_port" IS '0 without ports (ICMP)';
COMMENT ON COLUMN path_loss."upstream_point" IS 'observation point the packets pass first';
COMMENT ON COLUMN path_loss."orientation" IS 'how upstream was decided: CONFIGURED (senderPoints of the stage''s config), DELAY (the matched packets of this window were seen first at upstream_point on average), PREVIOUS (no match in this window: the flow''s last DELAY verdict for this pair and direction), MAJORITY (never matched: the point that saw more packets; with total loss the only point that saw any)';
COMMENT ON COLUMN path_loss."seen_upstream" IS 'distinct packets seen at the upstream point (duplicates not counted)';
COMMENT ON COLUMN path_loss."matched" IS 'packets seen at both points';
COMMENT ON COLUMN path_loss."lost" IS 'seen upstream, not seen downstream within the horizon = seen_upstream - matched';
COMMENT ON COLUMN path_loss."extra" IS 'seen downstream, not upstream within the horizon (injected between the points, taken another path, or a copy that came later than the horizon) = seen_downstream - matched';
COMMENT ON COLUMN path_loss."duplicates_upstream" IS 'extra copies of a packet at the upstream point within the duplicate interval (not loss, not counted in seen_upstream)';
COMMENT ON COLUMN path_loss."evicted" IS 'packets decided before their horizon because the flow''s pending set was full (maxPendingPerFlow); their lost/extra may be wrong';
COMMENT ON COLUMN path_loss."delay_mean_ns" IS 'mean of (downstream time - upstream time) over matched packets: the one-way delay between the points when both capture clocks are the same clock; with different sensors it also contains their clock offset (only as exact as their synchronisation: NTP ~ms, PTP ~us), and can be negative';
COMMENT ON TABLE path_loss IS 'tapline: packets of one direction (src -> dst) of one flow seen at two observation points in one window: lost = seen upstream, not downstream; delay = downstream time - upstream time (includes clock offset between sensors). Topic tapline.path-loss.v1';
