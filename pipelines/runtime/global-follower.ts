/**
 * Keeps the global tables of a worker up to date: reads each table's topic from the beginning
 * (a throwaway consumer group per worker, deleted on close) and resolves start() once it has
 * caught up with the end offsets that existed when it started, then keeps following updates.
 * A consumer that stops for good after that is reported to `onCrash`: a table that silently
 * stopped following would attribute traffic with stale identities from then on.
 */
import { randomUUID } from 'node:crypto';
import { AvroCodec } from '../../schemas';
import type { KafkaClient, TaplineConsumer } from '../../lib/kafka';
import type { ComponentMetrics } from '../../lib/metrics';
import { GlobalTable } from './global-table';
import type { GlobalTableSpec } from './types';

export class GlobalFollower {
  readonly tables = new Map<string, GlobalTable<unknown>>();
  private readonly consumers: { consumer: TaplineConsumer; groupId: string }[] = [];

  constructor(private readonly kafka: KafkaClient, private readonly specs: GlobalTableSpec<never>[],
    private readonly metrics: ComponentMetrics, private readonly groupPrefix: string,
    private readonly onCrash: (e: Error) => void = () => undefined) {}

  async start(): Promise<void> {
    for (const spec of this.specs) {
      const table = new GlobalTable<unknown>(spec as GlobalTableSpec<unknown>);
      this.tables.set(spec.name, table);
      const codec = new AvroCodec<unknown>(spec.schema);
      await this.kafka.ensureTopics([{ topic: spec.topic, partitions: 1, compacted: true }]);
      const remaining = new Map([...(await this.kafka.endOffsets(spec.topic))].filter(([, end]) => end > 0n));
      const groupId = `${this.groupPrefix}-global-${spec.name}-${randomUUID()}`;
      const consumer = this.kafka.consumer(groupId);
      this.consumers.push({ consumer, groupId });
      await new Promise<void>((resolve, reject) => {
        let caughtUp = false;
        const ready = (): void => { caughtUp = true; resolve(); };
        // before catching up start() fails; afterwards the owner hears of it
        const failed = (e: Error): void => { if (caughtUp) this.onCrash(e); else reject(e); };
        if (remaining.size === 0) ready();
        consumer.run([spec.topic], async (b) => {
          for (const m of b.messages) {
            try {
              table.apply(m.key?.toString() ?? '', m.value === null ? null : codec.decode(m.value), BigInt(m.timestampMs) * 1_000_000n);
            } catch {
              this.metrics.error('AVRO_DECODE');
              this.metrics.dropped(`global-${spec.name}`);
            }
          }
        }, {
          fromBeginning: true,
          onProgress: (_t, p, next) => {
            const end = remaining.get(p);
            if (end !== undefined && next >= end) remaining.delete(p);
            if (remaining.size === 0) ready();
          },
          onCrash: failed,
        }).catch(failed);
      });
    }
  }

  async close(): Promise<void> {
    for (const { consumer, groupId } of this.consumers) {
      await consumer.close().catch(() => undefined);
      await this.kafka.deleteGroup(groupId);
    }
    this.consumers.length = 0;
  }
}
