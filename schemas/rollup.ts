/** TypeScript view of schemas/rollup.v1.avsc (topic tapline.rollups.v1), written by the `rollup` stage. */
import type { Long } from './types';

export const ROLLUP_SCHEMA = 'rollup.v1';
export const ROLLUP_TOPIC = 'tapline.rollups.v1';

export type RollupDimension = 'src_vm' | 'dst_vm' | 'vm_pair' | 'protocol' | 'service_port' | 'host_pair' | 'tenant';
export const ROLLUP_DIMENSIONS: RollupDimension[] = ['src_vm', 'dst_vm', 'vm_pair', 'protocol', 'service_port', 'host_pair', 'tenant'];

export interface Rollup {
  window_start_ns: Long;
  window_end_ns: Long;
  dimension: RollupDimension;
  key: string;
  packets_fwd: Long;
  bytes_fwd: Long;
  packets_rev: Long;
  bytes_rev: Long;
  flows: Long;
  source_partition: number;
}
