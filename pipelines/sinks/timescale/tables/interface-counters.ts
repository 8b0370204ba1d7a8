/**
 * tapline.interface-counters.v1 (InterfaceCounters, sFlow counter samples) -> interface_counters.
 * A sample is identified by its data source and its per-source sequence number at its receive time.
 */
import { simpleSpec } from './simple';

export const interfaceCounters = simpleSpec('interface_counters', 'interface-counters.v1', 'tapline.interface-counters.v1',
  ['observation_point', 'agent', 'sub_agent_id', 'source_id_type', 'source_id_index', 'sample_sequence', 'ts']);
