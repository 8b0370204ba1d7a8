/**
 * TypeScript view of schemas/path-loss.v1.avsc (topic tapline.path-loss.v1), written by the
 * `pathloss` stage. Field names and nullability must match the .avsc;
 * pipelines/stages/pathloss/pathloss.test.ts round-trips a full record and compares field names.
 */
import type { Long } from './types';

export const PATH_LOSS_SCHEMA = 'path-loss.v1';
export const PATH_LOSS_TOPIC = 'tapline.path-loss.v1';

export type PathOrientation = 'CONFIGURED' | 'DELAY' | 'PREVIOUS' | 'MAJORITY';

export interface PathLoss {
  window_start_ns: Long;
  window_end_ns: Long;
  flow_key: string;
  ip_proto: number;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  upstream_point: string;
  downstream_point: string;
  orientation: PathOrientation;
  seen_upstream: Long;
  seen_downstream: Long;
  matched: Long;
  lost: Long;
  extra: Long;
  duplicates_upstream: Long;
  duplicates_downstream: Long;
  evicted: Long;
  delay_mean_ns: number | null;
  delay_min_ns: Long | null;
  delay_max_ns: Long | null;
}
