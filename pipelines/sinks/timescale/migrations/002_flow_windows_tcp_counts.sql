-- TCP flag and anomaly counts per flow window (FlowWindow v1 fields added with defaults).
ALTER TABLE flow_windows ADD COLUMN IF NOT EXISTS syn_count bigint NOT NULL DEFAULT 0;
ALTER TABLE flow_windows ADD COLUMN IF NOT EXISTS synack_count bigint NOT NULL DEFAULT 0;
ALTER TABLE flow_windows ADD COLUMN IF NOT EXISTS fin_count bigint NOT NULL DEFAULT 0;
ALTER TABLE flow_windows ADD COLUMN IF NOT EXISTS rst_count bigint NOT NULL DEFAULT 0;
ALTER TABLE flow_windows ADD COLUMN IF NOT EXISTS zero_window_count bigint NOT NULL DEFAULT 0;
ALTER TABLE flow_windows ADD COLUMN IF NOT EXISTS malformed_count bigint NOT NULL DEFAULT 0;
