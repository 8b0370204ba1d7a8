/**
 * Repartition step (as Kafka Streams' `repartition`): the inputs are keyed by flow key, so the
 * flows of one VM are spread over every partition, while the detectors aggregate per VM, per
 * pair or per host pair. This processor re-emits each record under the detector keys it
 * belongs to (to an internal `...repartition.v1` topic): all records of a key then meet in one
 * detector task, and that task's state (baselines, known pairs) is the only state of the key.
 * Stateless, so it scales and restarts freely; a record with no key is counted, not lost silently.
 */
import type { Processor, ProcessorContext, StreamRecord } from '../runtime/types';

export class RekeyProcessor<V> implements Processor<V> {
  private ctx!: ProcessorContext;

  constructor(private readonly outputTopic: string, private readonly keysOf: (v: V) => string[], private readonly skipReason = 'no-detector-key') {}

  init(ctx: ProcessorContext): void { this.ctx = ctx; }

  process(rec: StreamRecord<V>): void {
    const keys = [...new Set(this.keysOf(rec.value))];
    if (keys.length === 0) { this.ctx.metrics.dropped(this.skipReason); return; }
    for (const k of keys) this.ctx.forward(this.outputTopic, k, rec.value);
  }

  punctuate(): void { /* stateless */ }

  close(): void { /* stateless */ }
}
