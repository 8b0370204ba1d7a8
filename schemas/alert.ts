/** TypeScript view of schemas/alert.v1.avsc: alert states on tapline.alerts.v1, keyed by dedup_key. */
import type { Long } from './types';

export const ALERT_SCHEMA = 'alert.v1';
export const ALERT_TOPIC = 'tapline.alerts.v1';

export type AlertType =
  | 'traffic_burst' | 'new_pair' | 'port_scan' | 'host_sweep' | 'syn_flood' | 'icmp_flood' | 'connection_failures'
  | 'dns_nxdomain_burst' | 'dns_tunnel_suspect' | 'rtt_threshold' | 'jitter_threshold' | 'loss_threshold'
  | 'utilization_threshold' | 'capture_drops' | 'capacity_forecast';
export type AlertSeverity = 'info' | 'warning' | 'critical';
export type AlertState = 'open' | 'updated' | 'resolved';

export interface Alert {
  id: string;
  dedup_key: string;
  type: AlertType;
  detector: string;
  severity: AlertSeverity;
  state: AlertState;
  first_seen_ns: Long;
  last_seen_ns: Long;
  updated_ns: Long;
  summary: string;
  tenant: string | null;
  vm_a: string | null;
  vm_b: string | null;
  addr_a: string | null;
  addr_b: string | null;
  host_a: string | null;
  host_b: string | null;
  observation_point: string | null;
  metric: string | null;
  value: number | null;
  baseline: number | null;
  threshold: number | null;
  evidence: Record<string, string>;
}
