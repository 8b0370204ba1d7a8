-- sFlow interface counter samples.
CREATE TABLE IF NOT EXISTS interface_counters (
  "ts" timestamptz NOT NULL,
  "observation_point" text NOT NULL,
  "agent" inet NOT NULL,
  "sub_agent_id" bigint NOT NULL,
  "datagram_sequence" bigint NOT NULL,
  "uptime_ms" bigint NOT NULL,
  "sample_sequence" bigint NOT NULL,
  "source_id_type" integer NOT NULL,
  "source_id_index" bigint NOT NULL,
  "generic_if_index" bigint,
  "generic_if_type" bigint,
  "generic_if_speed" bigint,
  "generic_if_direction" integer,
  "generic_if_admin_up" boolean,
  "generic_if_oper_up" boolean,
  "generic_in_octets" bigint,
  "generic_in_ucast_pkts" bigint,
  "generic_in_multicast_pkts" bigint,
  "generic_in_broadcast_pkts" bigint,
  "generic_in_discards" bigint,
  "generic_in_errors" bigint,
  "generic_in_unknown_protos" bigint,
  "generic_out_octets" bigint,
  "generic_out_ucast_pkts" bigint,
  "generic_out_multicast_pkts" bigint,
  "generic_out_broadcast_pkts" bigint,
  "generic_out_discards" bigint,
  "generic_out_errors" bigint,
  "generic_promiscuous" boolean,
  "ethernet_alignment_errors" bigint,
  "ethernet_fcs_errors" bigint,
  "ethernet_single_collision_frames" bigint,
  "ethernet_multiple_collision_frames" bigint,
  "ethernet_sqe_test_errors" bigint,
  "ethernet_deferred_transmissions" bigint,
  "ethernet_late_collisions" bigint,
  "ethernet_excessive_collisions" bigint,
  "ethernet_internal_mac_transmit_errors" bigint,
  "ethernet_carrier_sense_errors" bigint,
  "ethernet_frame_too_longs" bigint,
  "ethernet_internal_mac_receive_errors" bigint,
  "ethernet_symbol_errors" bigint,
  PRIMARY KEY (observation_point, agent, sub_agent_id, source_id_type, source_id_index, sample_sequence, ts)
);
SELECT create_hypertable('interface_counters', by_range('ts', INTERVAL '7 days'), if_not_exists => TRUE);
COMMENT ON COLUMN interface_counters."ts" IS 'receive time of the datagram, nanoseconds since the Unix epoch';
COMMENT ON COLUMN interface_counters."observation_point" IS 'the sampled data source: sflow:<agent>/<source_id_index> unless configured';
COMMENT ON COLUMN interface_counters."agent" IS 'sFlow agent address (IPv4 or IPv6)';
COMMENT ON COLUMN interface_counters."datagram_sequence" IS 'sequence number of the datagram (per agent/sub-agent)';
COMMENT ON COLUMN interface_counters."uptime_ms" IS 'agent uptime when the datagram was sent';
COMMENT ON COLUMN interface_counters."sample_sequence" IS 'sequence number of the counter sample (per source)';
COMMENT ON COLUMN interface_counters."source_id_type" IS '0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry';
COMMENT ON COLUMN interface_counters."generic_if_speed" IS 'bits per second';
COMMENT ON COLUMN interface_counters."generic_if_direction" IS '0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out';
COMMENT ON TABLE interface_counters IS 'tapline: one sFlow counter sample of an interface (generic_*: RFC 2233 ifTable, ethernet_*: RFC 2358 dot3Stats); cumulative since the agent started, null when the agent does not know a counter. Topic tapline.interface-counters.v1';
