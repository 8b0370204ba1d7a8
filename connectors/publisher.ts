/**
 * Publishes packet summaries to Kafka: Avro single-object encoding, keyed by the
 * direction-independent flow key (both directions of a connection meet in one partition),
 * sent in batches. add() returns a promise only when a batch had to be sent, so a file
 * source that awaits it is paused by a slow broker (back-pressure, no unbounded buffering).
 */
import { AvroCodec } from '../schemas';
import type { PacketSummary } from '../schemas/types';
import { packetFlowKey } from '../lib/flow-key';
import type { OutMessage, TaplineProducer } from '../lib/kafka';
import type { ComponentMetrics } from '../lib/metrics';

export class PacketPublisher {
  private readonly codec = new AvroCodec<PacketSummary>('packet-summary.v1');
  private pending: OutMessage[] = [];

  constructor(private readonly producer: TaplineProducer, private readonly topic: string,
    private readonly metrics: ComponentMetrics, private readonly batchSize = 2000) {}

  /** Queues one summary; sends when the batch is full. */
  add(p: PacketSummary): Promise<void> | null {
    this.pending.push({ key: packetFlowKey(p), value: this.codec.encode(p) });
    return this.pending.length >= this.batchSize ? this.flush() : null;
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    await this.producer.send(this.topic, batch);
    this.metrics.sent(batch.length);
  }
}
