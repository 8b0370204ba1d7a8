/**
 * Connector lifecycle shared by every capture source: the constructor only stores its config,
 * start() begins capturing, done() resolves when a bounded source (a file) has published
 * everything, close() stops and is safe to call twice.
 */
import type { ComponentMetrics } from '../lib/metrics';

export interface Connector {
  readonly type: string;
  readonly metrics: ComponentMetrics;
  start(): Promise<void>;
  done(): Promise<ConnectorSummary>;
  close(): Promise<void>;
}

export interface ConnectorSummary {
  packets: number;
  bytes: number;
  malformed: number;
  firstTsNs: bigint | null;
  lastTsNs: bigint | null;
}
