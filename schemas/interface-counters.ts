/**
 * TypeScript view of schemas/interface-counters.v1.avsc (topic tapline.interface-counters.v1).
 * Field names and nullability must match the .avsc; schemas/new-schemas.test.ts round-trips a
 * record through the codec to catch drift. Avro `long` is read as bigint; writers may pass number.
 */
import type { Long } from './types';

export const INTERFACE_COUNTERS_SCHEMA = 'interface-counters.v1';
export const INTERFACE_COUNTERS_TOPIC = 'tapline.interface-counters.v1';

/** A counter the agent reported as unknown (all ones: 2^32-1 / 2^64-1, sFlow v5 spec) is null. */
export type Counter = Long | null;

export interface GenericInterfaceCounters {
  if_index: Long; if_type: Long; if_speed: Counter; if_direction: number; if_admin_up: boolean; if_oper_up: boolean;
  in_octets: Counter; in_ucast_pkts: Counter; in_multicast_pkts: Counter; in_broadcast_pkts: Counter; in_discards: Counter; in_errors: Counter; in_unknown_protos: Counter;
  out_octets: Counter; out_ucast_pkts: Counter; out_multicast_pkts: Counter; out_broadcast_pkts: Counter; out_discards: Counter; out_errors: Counter;
  promiscuous: boolean;
}

export interface EthernetCounters {
  alignment_errors: Counter; fcs_errors: Counter; single_collision_frames: Counter; multiple_collision_frames: Counter;
  sqe_test_errors: Counter; deferred_transmissions: Counter; late_collisions: Counter; excessive_collisions: Counter;
  internal_mac_transmit_errors: Counter; carrier_sense_errors: Counter; frame_too_longs: Counter;
  internal_mac_receive_errors: Counter; symbol_errors: Counter;
}

export interface InterfaceCounters {
  ts_ns: Long;
  observation_point: string;
  agent: string;
  sub_agent_id: Long;
  datagram_sequence: Long;
  uptime_ms: Long;
  sample_sequence: Long;
  source_id_type: number;
  source_id_index: Long;
  generic: GenericInterfaceCounters | null;
  ethernet: EthernetCounters | null;
}
