-- Alerts: one row per occurrence with its latest state (alerts) and every state (alert_states).
-- acked_at, acked_by, resolved_by are written by the dashboard; the sink never writes them.
CREATE TABLE IF NOT EXISTS alerts (
  "id" text NOT NULL,
  "dedup_key" text NOT NULL,
  "type" text NOT NULL,
  "detector" text NOT NULL,
  "severity" text NOT NULL,
  "state" text NOT NULL,
  "first_seen" timestamptz NOT NULL,
  "last_seen" timestamptz NOT NULL,
  "updated" timestamptz NOT NULL,
  "summary" text NOT NULL,
  "tenant" text,
  "vm_a" text,
  "vm_b" text,
  "addr_a" inet,
  "addr_b" inet,
  "host_a" text,
  "host_b" text,
  "observation_point" text,
  "metric" text,
  "value" double precision,
  "baseline" double precision,
  "threshold" double precision,
  "evidence" jsonb NOT NULL,
  PRIMARY KEY (id, first_seen)
);
SELECT create_hypertable('alerts', by_range('first_seen', INTERVAL '7 days'), if_not_exists => TRUE);
COMMENT ON COLUMN alerts."id" IS 'stable per occurrence: dedup_key + ''@'' + first_seen_ns';
COMMENT ON COLUMN alerts."dedup_key" IS 'type + subject, e.g. ''port_scan|tenant-a|10.0.0.5''; the Kafka key';
COMMENT ON COLUMN alerts."detector" IS 'the stage that raised it';
COMMENT ON COLUMN alerts."first_seen" IS 'event time the condition was first seen';
COMMENT ON COLUMN alerts."last_seen" IS 'event time of the latest window that showed the condition';
COMMENT ON COLUMN alerts."updated" IS 'event time of this state (for resolved: when it was declared clear)';
COMMENT ON COLUMN alerts."summary" IS 'one human sentence, e.g. ''web-1 -> db-1: 4.2 MB/s, baseline 120 kB/s (35x)''';
COMMENT ON COLUMN alerts."vm_a" IS 'vm_id of the source / first VM';
COMMENT ON COLUMN alerts."vm_b" IS 'vm_id of the destination / second VM of a pair';
COMMENT ON COLUMN alerts."host_a" IS 'physical host';
COMMENT ON COLUMN alerts."metric" IS 'what was measured, e.g. ''bytes_per_s'', ''rtt_p95_ns'', ''distinct_dst_ports''';
COMMENT ON COLUMN alerts."value" IS 'the observed value in the latest window';
COMMENT ON COLUMN alerts."baseline" IS 'expected value (baseline detectors)';
COMMENT ON COLUMN alerts."threshold" IS 'the limit that was crossed';
COMMENT ON COLUMN alerts."evidence" IS 'detector-specific details as text, e.g. ports sampled, query names, forecast date';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS acked_at timestamptz;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS acked_by text;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS resolved_by text;
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (state, severity, updated DESC);
COMMENT ON TABLE alerts IS 'tapline: one row per alert occurrence (id) with its latest state (open, updated, resolved); the sink upserts each state and never goes back to an older one. History: alert_states. Topic tapline.alerts.v1';
COMMENT ON COLUMN alerts.acked_at IS 'dashboard: when a user acknowledged the alert (the sink never writes it)';
COMMENT ON COLUMN alerts.acked_by IS 'dashboard: who acknowledged it (the sink never writes it)';
COMMENT ON COLUMN alerts.resolved_by IS 'dashboard: who resolved it by hand (the sink never writes it)';
CREATE TABLE IF NOT EXISTS alert_states (
  "id" text NOT NULL,
  "dedup_key" text NOT NULL,
  "type" text NOT NULL,
  "detector" text NOT NULL,
  "severity" text NOT NULL,
  "state" text NOT NULL,
  "first_seen" timestamptz NOT NULL,
  "last_seen" timestamptz NOT NULL,
  "updated" timestamptz NOT NULL,
  "summary" text NOT NULL,
  "tenant" text,
  "vm_a" text,
  "vm_b" text,
  "addr_a" inet,
  "addr_b" inet,
  "host_a" text,
  "host_b" text,
  "observation_point" text,
  "metric" text,
  "value" double precision,
  "baseline" double precision,
  "threshold" double precision,
  "evidence" jsonb NOT NULL,
  PRIMARY KEY (id, updated, state)
);
SELECT create_hypertable('alert_states', by_range('updated', INTERVAL '7 days'), if_not_exists => TRUE);
COMMENT ON TABLE alert_states IS 'tapline: every state record of every alert as received (history of alerts; same columns as the Alert record)';
