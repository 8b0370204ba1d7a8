-- VM moves (migrations) from the vm-events stage.
CREATE TABLE IF NOT EXISTS vm_events (
  "type" text NOT NULL,
  "vm" text NOT NULL,
  "vm_name" text,
  "from_host" text NOT NULL,
  "to_host" text NOT NULL,
  "at" timestamptz NOT NULL,
  "source" text NOT NULL,
  "observation_point" text,
  PRIMARY KEY (vm, type, at)
);
SELECT create_hypertable('vm_events', by_range('at', INTERVAL '30 days'), if_not_exists => TRUE);
COMMENT ON COLUMN vm_events."vm" IS 'vm_id';
COMMENT ON COLUMN vm_events."at" IS 'ns: valid_from_ns of the inventory version, or first_seen_ns of the flow seen at the new host';
COMMENT ON COLUMN vm_events."observation_point" IS 'source traffic: where the VM was seen';
COMMENT ON TABLE vm_events IS 'tapline: one row per move of a VM between physical hosts (type migration), from the inventory or from its traffic seen at another host. Topic tapline.vm-events.v1';
COMMENT ON COLUMN vm_events.at IS 'when the VM was at to_host: the inventory version''s valid_from, or the first_seen of the flow seen at the new host';
