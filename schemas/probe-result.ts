/**
 * TypeScript view of schemas/probe-result.v1.avsc (topic tapline.probes.v1). Field names and
 * nullability must match the .avsc; schemas/new-schemas.test.ts round-trips a record.
 */
import type { Long } from './types';

export const PROBE_RESULT_SCHEMA = 'probe-result.v1';
export const PROBE_RESULT_TOPIC = 'tapline.probes.v1';

export type ProbeKind = 'TCP_CONNECT' | 'UDP_ECHO';

export interface ProbeResult {
  prober: string;
  target: string;
  kind: ProbeKind;
  interval_start_ns: Long;
  interval_end_ns: Long;
  sent: number;
  received: number;
  lost: number;
  rtt_min_ns: Long | null;
  rtt_mean_ns: Long | null;
  rtt_max_ns: Long | null;
  rtt_samples_ns: Long[];
  error: string | null;
}
