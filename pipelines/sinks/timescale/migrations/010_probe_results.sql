-- Active probe intervals (tapline probe).
CREATE TABLE IF NOT EXISTS probe_results (
  "prober" text NOT NULL,
  "target" text NOT NULL,
  "kind" text NOT NULL,
  "interval_start" timestamptz NOT NULL,
  "interval_end" timestamptz NOT NULL,
  "sent" integer NOT NULL,
  "received" integer NOT NULL,
  "lost" integer NOT NULL,
  "rtt_min_ns" bigint,
  "rtt_mean_ns" bigint,
  "rtt_max_ns" bigint,
  "rtt_samples_ns" bigint[] NOT NULL,
  "error" text,
  PRIMARY KEY (prober, target, kind, interval_start)
);
SELECT create_hypertable('probe_results', by_range('interval_start', INTERVAL '1 day'), if_not_exists => TRUE);
COMMENT ON COLUMN probe_results."prober" IS 'who measured (probe:<hostname> unless configured)';
COMMENT ON COLUMN probe_results."target" IS 'host:port probed';
COMMENT ON COLUMN probe_results."interval_start" IS 'first probe of the interval was sent (ns since the Unix epoch)';
COMMENT ON COLUMN probe_results."interval_end" IS 'the interval was closed: every probe answered or timed out';
COMMENT ON COLUMN probe_results."sent" IS 'probes sent (TCP: connection attempts; UDP: echo requests)';
COMMENT ON COLUMN probe_results."received" IS 'probes answered within the timeout (TCP: connections established)';
COMMENT ON COLUMN probe_results."lost" IS 'sent - received';
COMMENT ON COLUMN probe_results."rtt_samples_ns" IS 'every RTT of the interval, in send order (TCP: connect completion - SYN send; UDP: t_receive - t_send)';
COMMENT ON COLUMN probe_results."error" IS 'last failure of the interval (ECONNREFUSED, timeout, ...)';
COMMENT ON TABLE probe_results IS 'tapline: one interval of an active probe (TCP connect or UDP echo) from a prober to a target: sent/received/lost counts and every RTT sample (rtt_samples_ns). Topic tapline.probes.v1';
