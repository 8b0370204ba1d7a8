-- flow_windows follows the same Avro-derived column rules as every other table (Avro int ->
-- integer): ip_proto was smallint. Comments for analysts reading \d+.
ALTER TABLE flow_windows ALTER COLUMN ip_proto TYPE integer;
COMMENT ON COLUMN flow_windows.flow_key IS 'direction-independent key, see lib/flow-key.ts';
COMMENT ON COLUMN flow_windows.window_start IS 'start of the tumbling event-time window (inclusive)';
COMMENT ON COLUMN flow_windows.window_end IS 'end of the window (exclusive)';
COMMENT ON COLUMN flow_windows.observation_point IS 'which sensor/interface/file saw the traffic';
COMMENT ON COLUMN flow_windows.bytes_ab IS 'sum of wire lengths sent by A (as tshark''s conversation bytes)';
COMMENT ON COLUMN flow_windows.first_seen IS 'first packet of the flow inside this window';
COMMENT ON COLUMN flow_windows.syn_count IS 'TCP segments with SYN and not ACK (connection attempts), both directions';
COMMENT ON COLUMN flow_windows.synack_count IS 'TCP segments with SYN and ACK';
COMMENT ON COLUMN flow_windows.zero_window_count IS 'TCP segments advertising a zero receive window (not RST)';
COMMENT ON COLUMN flow_windows.malformed_count IS 'packets of this flow the decoder flagged as truncated or invalid';
COMMENT ON TABLE flow_windows IS 'tapline: traffic per bidirectional flow, observation point and tumbling window; a = lower (address, port) endpoint, ab = sent by a. Topic tapline.flows.v1';
