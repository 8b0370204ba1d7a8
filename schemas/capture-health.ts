/**
 * TypeScript view of schemas/capture-health.v1.avsc (field names and nullability match it
 * exactly; connectors/pcap-live/pcap-live.test.ts checks that they do not drift apart).
 */
import type { Long } from './types';

export const CAPTURE_HEALTH_SCHEMA = 'capture-health.v1';
export const CAPTURE_HEALTH_TOPIC = 'tapline.capture-health.v1';

export interface CaptureHealth {
  ts_ns: Long;
  started_ns: Long;
  connector: string;
  host: string;
  interface: string;
  observation_point: string;
  filter: string;
  link_type: number;
  snaplen: number;
  final: boolean;
  packets_seen: Long;
  bytes_seen: Long;
  packets_truncated: Long;
  packets_published: Long;
  pipeline_drops: Long;
  pipeline_drops_by_reason: Record<string, Long>;
  kernel_drops: Long | null;
  interface_drops: Long | null;
  interface_packets: Long | null;
  malformed: Long;
  malformed_by_code: Record<string, Long>;
  queue_depth: number;
  queue_capacity: number;
  capturing: boolean;
  capture_restarts: Long;
  last_error: string | null;
}
