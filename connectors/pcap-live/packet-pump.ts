/**
 * The bounded queue between the capture callback and Kafka, and the one loop that empties it.
 * The callback only pushes decoded summaries (or, once the queue is `full`, drops the frame and
 * counts it): it never waits for Kafka. The loop sends the queue in batches and awaits each
 * acknowledgement, so at most one packet batch is in flight and memory stays bounded by
 * maxQueuedPackets plus that batch.
 */
import { TaplineError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { ComponentMetrics } from '../../lib/metrics';
import type { PacketSummary } from '../../schemas/types';
import type { PacketPublisher } from '../publisher';
import type { CaptureCounters } from './capture-counters';

export interface PacketPumpOptions {
  /** summaries per batch; a full batch wakes the loop at once */
  batchSize: number;
  /** a partial batch goes out after this long */
  flushIntervalMs: number;
  /** queue bound; the caller drops frames once it is reached */
  maxQueuedPackets: number;
}

export class PacketPump {
  private queue: PacketSummary[] = [];
  /** ends the loop's current wait early (set only while it waits) */
  private wake: (() => void) | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;

  /** `publisher` must not flush by itself: the loop decides when, and awaits each flush. */
  constructor(private readonly publisher: PacketPublisher, private readonly opts: PacketPumpOptions,
    private readonly counters: CaptureCounters, private readonly metrics: ComponentMetrics, private readonly log: Logger) {}

  /** Summaries waiting to be sent (the batch in flight not included). */
  get depth(): number { return this.queue.length; }

  get full(): boolean { return this.queue.length >= this.opts.maxQueuedPackets; }

  /** Whether start() was called. */
  get running(): boolean { return this.loop !== null; }

  /** Queues one summary; the caller checks `full` first. */
  push(p: PacketSummary): void {
    this.queue.push(p);
    if (this.queue.length >= this.opts.batchSize && this.wake) this.wake();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * From now on the loop no longer waits for a full batch or the flush interval: it sends what is
   * queued and ends as soon as the queue is empty. drain() then waits for that.
   */
  stop(): void {
    this.stopping = true;
  }

  /**
   * Waits up to `timeoutMs` for the loop (after stop()) to send what is queued; what is left then
   * is dropped as close-timeout. Resolves to whether it timed out.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.loop!.then(() => false),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const left = this.queue.length;
      this.queue = [];
      this.counters.drop('close-timeout', left);
      this.log.warn({ left, timeoutMs }, 'Kafka did not take the queued summaries in time; dropped');
    }
    return timedOut;
  }

  /** Sends the queue to Kafka in batches, one at a time, until stopped and drained. */
  private async run(): Promise<void> {
    const { batchSize, flushIntervalMs } = this.opts;
    for (;;) {
      if (this.queue.length < batchSize && !this.stopping) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, flushIntervalMs);
          const self = this;
          function done(): void { clearTimeout(t); self.wake = null; resolve(); }
          this.wake = done;
        });
      }
      this.counters.reportReceived();
      if (this.queue.length === 0) {
        if (this.stopping) return;
        continue;
      }
      const batch = this.queue.length <= batchSize ? this.queue : this.queue.slice(0, batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(batchSize);
      try {
        for (const p of batch) void this.publisher.add(p);
        await this.publisher.flush();
        if (batch.length) this.metrics.streamTime(BigInt(batch[batch.length - 1].ts_ns));
      } catch (e) {
        this.counters.drop('send-failed', batch.length);
        this.metrics.error(e instanceof TaplineError ? e.code : 'KAFKA_UNREACHABLE');
        this.log.error({ err: errorMessage(e), packets: batch.length }, 'a batch of packet summaries could not be sent; dropped');
      }
    }
  }
}
