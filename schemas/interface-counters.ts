/**
 * TypeScript view of schemas/interface-counters.v1.avsc (topic tapline.interface-counters.v1).
 * Field names and nullability must match the .avsc; schemas/new-schemas.test.ts round-trips a
 * record through the codec to catch drift. Avro `long` is read as bigint; writers may pass number.
 */
import type { Long } from './types';

export const INTERFACE_COUNTERS_SCHEMA = 'interface-counters.v1';
export const INTERFACE_COUNTERS_TOPIC = 'tapline.interface-counters.v1';

export interface GenericInterfaceCounters {
  if_index: Long; if_type: Long; if_speed: Long; if_direction: number; if_admin_up: boolean; if_oper_up: boolean;
  in_octets: Long; in_ucast_pkts: Long; in_multicast_pkts: Long; in_broadcast_pkts: Long; in_discards: Long; in_errors: Long; in_unknown_protos: Long;
  out_octets: Long; out_ucast_pkts: Long; out_multicast_pkts: Long; out_broadcast_pkts: Long; out_discards: Long; out_errors: Long;
  promiscuous: boolean;
}

export interface EthernetCounters {
  alignment_errors: Long; fcs_errors: Long; single_collision_frames: Long; multiple_collision_frames: Long;
  sqe_test_errors: Long; deferred_transmissions: Long; late_collisions: Long; excessive_collisions: Long;
  internal_mac_transmit_errors: Long; carrier_sense_errors: Long; frame_too_longs: Long;
  internal_mac_receive_errors: Long; symbol_errors: Long;
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
