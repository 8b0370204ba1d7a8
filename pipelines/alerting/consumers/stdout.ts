/**
 * stdout output: one JSON line per alert state (the same tapline.alert.v1 document as the
 * webhook body), for piping into jq, a log shipper or a test. Logs go to stderr, so stdout
 * carries nothing else. Waits for the stream to take each line (back-pressure).
 */
import type { Writable } from 'node:stream';
import { ComponentMetrics } from '../../../lib/metrics';
import { errorMessage } from '../../../lib/errors';
import type { Alert } from '../../../schemas/alert';
import { countOutcome, type AlertOutput, type DeliveryContext } from './output';
import { toPayload } from './payload';
import type { DeliveryOutcome } from './retry';

export class StdoutOutput implements AlertOutput {
  readonly name = 'stdout' as const;
  readonly metrics = new ComponentMetrics('alerts-stdout');

  constructor(private readonly out: Writable = process.stdout) {}

  async start(): Promise<void> { /* nothing to open */ }

  async deliver(alert: Alert, _ctx: DeliveryContext): Promise<DeliveryOutcome> {
    const line = `${JSON.stringify(toPayload(alert))}\n`;
    const outcome = await new Promise<DeliveryOutcome>((resolve) => {
      this.out.write(line, (e) => resolve(e
        ? { kind: 'failed', attempts: 1, code: 'DELIVERY_FAILED', reason: `stdout: ${errorMessage(e)}` }
        : { kind: 'delivered', attempts: 1 }));
    });
    if (outcome.kind === 'failed') this.metrics.error('IO');
    countOutcome(this.metrics, outcome);
    return outcome;
  }

  async close(): Promise<void> { /* stdout is not ours to close */ }
}
