/**
 * Bounded sending for sources that cannot be paused (UDP sockets). Every send that is in flight
 * is tracked; while `maxInflight` sends are outstanding the source must drop what arrives and
 * count it (metrics.dropped('backpressure')), so memory stays bounded by
 * (maxInflight + 1) x batchSize records however slow Kafka is.
 */
import { TaplineError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { ComponentMetrics } from '../../lib/metrics';

export class SendTracker {
  private inflight = 0;
  private readonly all = new Set<Promise<void>>();

  constructor(private readonly maxInflight: number, private readonly metrics: ComponentMetrics, private readonly log: Logger) {}

  /** True when the source must drop instead of queueing more. */
  get busy(): boolean {
    return this.inflight >= this.maxInflight;
  }

  get pending(): number {
    return this.inflight;
  }

  /** Tracks a send started by a publisher (null = nothing was sent). Failures are counted, never thrown. */
  track(p: Promise<void> | null): void {
    if (p === null) return;
    this.inflight++;
    const tracked = p.then(
      () => undefined,
      (e: unknown) => {
        const code = e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE';
        this.metrics.error(code);
        const lost = (e as { lost?: unknown }).lost;
        if (typeof lost === 'number') this.metrics.dropped('send-failed', lost);
        this.log.error({ err: (e as Error).message, code }, 'sending a batch to Kafka failed; the batch is lost');
      },
    ).finally(() => {
      this.inflight--;
      this.all.delete(tracked);
    });
    this.all.add(tracked);
  }

  /** Resolves when every send tracked so far has finished. */
  async drain(): Promise<void> {
    while (this.all.size > 0) await Promise.all([...this.all]);
  }
}
