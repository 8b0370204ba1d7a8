-- Per-flow, per-window traffic. One row per (flow, observation point, window): the primary key
-- is what makes the sink idempotent (replays upsert the same rows). The time column is part of
-- the key because TimescaleDB requires it in every unique index of a hypertable.
CREATE TABLE IF NOT EXISTS flow_windows (
  window_start      timestamptz NOT NULL,
  window_end        timestamptz NOT NULL,
  observation_point text        NOT NULL,
  flow_key          text        NOT NULL,
  ip_proto          smallint    NOT NULL,
  addr_a            inet        NOT NULL,
  port_a            integer     NOT NULL,
  addr_b            inet        NOT NULL,
  port_b            integer     NOT NULL,
  packets_ab        bigint      NOT NULL,
  bytes_ab          bigint      NOT NULL,
  packets_ba        bigint      NOT NULL,
  bytes_ba          bigint      NOT NULL,
  first_seen        timestamptz NOT NULL,
  last_seen         timestamptz NOT NULL,
  PRIMARY KEY (flow_key, observation_point, window_start)
);
SELECT create_hypertable('flow_windows', by_range('window_start', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS flow_windows_addr_a ON flow_windows (addr_a, window_start DESC);
CREATE INDEX IF NOT EXISTS flow_windows_addr_b ON flow_windows (addr_b, window_start DESC);
COMMENT ON TABLE flow_windows IS 'tapline: traffic per bidirectional flow and tumbling window; a = lower (address, port) endpoint, ab = sent by a';
