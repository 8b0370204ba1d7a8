/**
 * What the runner hands alerts to. deliver() settles with an outcome and never throws for a
 * delivery problem: 'failed' is dead-lettered by the runner, 'aborted' (closing) is neither
 * committed nor dead-lettered, so the record is delivered again after a restart.
 */
import type { Alert } from '../../../schemas/alert';
import type { ComponentMetrics } from '../../../lib/metrics';
import type { DeliveryOutcome } from './retry';
import type { OutputName } from '../../../lib/config/alert-consumers';

export interface DeliveryContext {
  /** Aborted when the consumer closes: waits and requests in flight end early. */
  signal: AbortSignal;
  /** Keeps the consumer group membership alive during long retries. */
  heartbeat?: () => Promise<void>;
}

export interface AlertOutput {
  readonly name: OutputName;
  /** alerts-<name>: sent = delivered, errors{code} = failed attempts, dropped{dead-letter}. */
  readonly metrics: ComponentMetrics;
  start(): Promise<void>;
  deliver(alert: Alert, ctx: DeliveryContext): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

/** Counts an outcome on an output's metrics (shared by every output). */
export function countOutcome(metrics: ComponentMetrics, o: DeliveryOutcome): void {
  if (o.kind === 'delivered') metrics.sent();
  else if (o.kind === 'failed') metrics.dropped('dead-letter');
}
