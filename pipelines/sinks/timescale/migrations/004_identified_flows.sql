-- Flow windows attributed to inventory VMs (identify stage). Same key as flow_windows.
CREATE TABLE IF NOT EXISTS identified_flows (
  "window_start" timestamptz NOT NULL,
  "window_end" timestamptz NOT NULL,
  "flow_key" text NOT NULL,
  "ip_proto" integer NOT NULL,
  "addr_a" inet NOT NULL,
  "port_a" integer NOT NULL,
  "addr_b" inet NOT NULL,
  "port_b" integer NOT NULL,
  "packets_ab" bigint NOT NULL,
  "bytes_ab" bigint NOT NULL,
  "packets_ba" bigint NOT NULL,
  "bytes_ba" bigint NOT NULL,
  "syn_count" bigint NOT NULL,
  "synack_count" bigint NOT NULL,
  "fin_count" bigint NOT NULL,
  "rst_count" bigint NOT NULL,
  "zero_window_count" bigint NOT NULL,
  "malformed_count" bigint NOT NULL,
  "first_seen" timestamptz NOT NULL,
  "last_seen" timestamptz NOT NULL,
  "observation_point" text NOT NULL,
  "observed_host" text,
  "a_vm" text,
  "a_name" text,
  "a_host" text,
  "a_tenant" text,
  "b_vm" text,
  "b_name" text,
  "b_host" text,
  "b_tenant" text,
  "traffic_class" text NOT NULL,
  PRIMARY KEY (flow_key, observation_point, window_start)
);
SELECT create_hypertable('identified_flows', by_range('window_start', INTERVAL '1 day'), if_not_exists => TRUE);
COMMENT ON COLUMN identified_flows."flow_key" IS 'direction-independent key, see lib/flow-key.ts';
COMMENT ON COLUMN identified_flows."bytes_ab" IS 'sum of wire lengths sent by A (as tshark''s conversation bytes)';
COMMENT ON COLUMN identified_flows."syn_count" IS 'TCP segments with SYN and not ACK (connection attempts), both directions';
COMMENT ON COLUMN identified_flows."synack_count" IS 'TCP segments with SYN and ACK';
COMMENT ON COLUMN identified_flows."zero_window_count" IS 'TCP segments advertising a zero receive window (not RST)';
COMMENT ON COLUMN identified_flows."malformed_count" IS 'packets of this flow the decoder flagged as truncated or invalid';
COMMENT ON COLUMN identified_flows."observed_host" IS 'physical host of the observation point (stage config), if known';
COMMENT ON COLUMN identified_flows."a_vm" IS 'vm_id holding addr_a at first_seen_ns';
COMMENT ON COLUMN identified_flows."a_host" IS 'host of that VM at first_seen_ns (inventory, or where its traffic was seen after a detected migration)';
COMMENT ON COLUMN identified_flows."traffic_class" IS 'intra_host: both endpoints are VMs on one host; inter_host: VMs on two hosts; external: at least one endpoint is no inventory VM';
CREATE INDEX IF NOT EXISTS identified_flows_vms ON identified_flows (a_vm, b_vm, window_start DESC);
COMMENT ON TABLE identified_flows IS 'tapline: flow windows (as flow_windows) with both endpoints attributed to the inventory VMs holding their addresses at first_seen; a_* / b_* null for a non-VM endpoint. Topic tapline.flows.identified.v1';
