/**
 * A task: one processor instance bound to one input partition, with its stores, its stream
 * time and the records it forwarded since the last flush. Shared by the Kafka runner and the
 * in-memory test driver, so tests exercise exactly the code that runs in production.
 */
import { AvroCodec } from '../../schemas';
import type { ComponentMetrics } from '../../lib/metrics';
import type { Logger } from '../../lib/log';
import { InMemoryStore } from './store';
import type { GlobalTable } from './global-table';
import { END_OF_STREAM, type Processor, type ProcessorContext, type StageDefinition, type StreamRecord } from './types';

export interface Emitted { topic: string; key: string | null; value: Buffer }

/** A record the stage could not process: its processor (or timestampOf) threw. */
export interface Rejected<V> { record: StreamRecord<V>; error: unknown }

export class Task<V> {
  readonly stores = new Map<string, InMemoryStore<unknown>>();
  readonly processor: Processor<V>;
  private readonly codecs = new Map<string, AvroCodec>();
  private streamTime = -1n;
  private lastPunctuated = -1n;
  private outbox: Emitted[] = [];
  private rejected: Rejected<V>[] = [];
  /** stream-time interval between punctuations (StageDefinition.punctuateEveryNs, default 1 s) */
  private readonly interval: bigint;
  /** the stores as an array: iterated per message, without a Map iterator each time */
  private readonly storeList: InMemoryStore<unknown>[];
  /**
   * The input offset the per-message bookkeeping (stores' currentOffset, nextOffset) was done
   * for: the records of one batch message share it. -1: none; punctuate() clears it.
   */
  private messageAt = -1n;
  /** next input offset after the last processed record */
  nextOffset = -1n;
  /** stream time at which the next punctuation is due (derived from lastPunctuated) */
  private punctuateAt = 0n;

  constructor(readonly def: StageDefinition<V>, readonly partition: number, private readonly metrics: ComponentMetrics,
    private readonly log: Logger, globals: Map<string, GlobalTable<unknown>> = new Map()) {
    for (const [topic, schema] of Object.entries(def.outputs)) this.codecs.set(topic, new AvroCodec(schema));
    for (const name of def.stores) this.stores.set(name, new InMemoryStore(name, { serde: def.serdes?.[name], hotEntries: def.hotEntries }));
    this.storeList = [...this.stores.values()];
    this.interval = def.punctuateEveryNs ?? 1_000_000_000n;
    const ctx: ProcessorContext = {
      stage: def.name,
      partition,
      metrics,
      log,
      store: <S>(name: string) => {
        const s = this.stores.get(name);
        if (!s) throw new Error(`stage ${def.name} did not declare store "${name}"`);
        return s as InMemoryStore<S>;
      },
      globalTable: <G>(name: string) => {
        const g = globals.get(name);
        if (!g) throw new Error(`stage ${def.name} did not declare global table "${name}"`);
        return g as unknown as GlobalTable<G>;
      },
      forward: (topic, key, value) => {
        const codec = this.codecs.get(topic);
        if (!codec) throw new Error(`stage ${def.name} did not declare output topic "${topic}"`);
        this.outbox.push({ topic, key, value: codec.encode(value) });
      },
      streamTimeNs: () => this.streamTime,
    };
    this.processor = def.create();
    this.processor.init(ctx);
  }

  get streamTimeNs(): bigint { return this.streamTime; }

  /** Task metadata that must survive a restart with the stores (exactly-once restore). */
  get meta(): { streamTime: bigint; lastPunctuated: bigint } {
    return { streamTime: this.streamTime, lastPunctuated: this.lastPunctuated };
  }

  restoreMeta(m: { streamTime: bigint; lastPunctuated: bigint }): void {
    this.streamTime = m.streamTime;
    this.lastPunctuated = m.lastPunctuated;
    this.punctuateAt = this.nextPunctuation();
  }

  process(rec: StreamRecord<V>): void {
    // once per input message, not per record of a batch (BigInt arithmetic allocates)
    const first = rec.offset !== this.messageAt;
    if (first) {
      this.messageAt = rec.offset;
      for (let i = 0; i < this.storeList.length; i++) this.storeList[i].currentOffset = rec.offset;
    }
    // Stream time advances after the record, so during process() ctx.streamTimeNs() is the
    // time reached BEFORE it: lateness verdicts then do not depend on how input was batched.
    try {
      this.processor.process(rec);
    } catch (e) {
      // A record the processor cannot take must not stop the partition (it would fail the same
      // way after every restart): it is set aside for the dead-letter topic and the task goes
      // on, with what the processor changed before it threw (as Kafka Streams' LogAndContinue).
      this.reject(rec, e);
    }
    if (rec.timestampNs > this.streamTime) this.streamTime = rec.timestampNs;
    if (first) this.nextOffset = rec.offset + 1n;
    // Punctuation happens when stream time crosses a boundary of the punctuation interval,
    // decided record by record: so it falls at the same records however the input was fetched
    // or batched, and a restored task punctuates exactly where an uninterrupted one would.
    if (this.streamTime >= this.punctuateAt) this.punctuate(this.streamTime);
  }

  private nextPunctuation(): bigint {
    if (this.lastPunctuated < 0n) return 0n;
    return this.lastPunctuated - (this.lastPunctuated % this.interval) + this.interval;
  }

  /** Lets the processor act on stream-time progress; END_OF_STREAM closes everything. */
  punctuate(to: bigint): void {
    const t = to;
    if (t <= this.lastPunctuated) return;
    // END_OF_STREAM ends one bounded run; it must not stay recorded (and be restored) as the
    // time reached, or a later run's punctuations would all look like the past.
    if (t !== END_OF_STREAM) { this.lastPunctuated = t; this.punctuateAt = this.nextPunctuation(); }
    for (const s of this.storeList) s.currentOffset = -1n;
    this.messageAt = -1n;
    this.processor.punctuate(t);
    for (const s of this.stores.values()) s.pack();
  }

  /** Sets a record aside for the dead-letter topic (see takeRejected), counted as PROCESSING_FAILED. */
  reject(rec: StreamRecord<V>, error: unknown): void {
    this.metrics.error('PROCESSING_FAILED');
    this.metrics.dropped('dead-letter');
    this.log.warn({ offset: String(rec.offset), index: rec.index, err: error instanceof Error ? error.message : String(error) },
      'the processor threw on a record: dead-lettered');
    this.rejected.push({ record: rec, error });
  }

  /** The records rejected since the last call. */
  takeRejected(): Rejected<V>[] {
    if (this.rejected.length === 0) return [];
    const out = this.rejected;
    this.rejected = [];
    return out;
  }

  drain(): Emitted[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** The offset that is safe to commit: nothing before it lives only in memory. */
  safeCommitOffset(): bigint | null {
    if (this.nextOffset < 0n) return null;
    let safe = this.nextOffset;
    for (const s of this.stores.values()) {
      const low = s.lowestLiveOffset();
      if (low !== null && low < safe) safe = low;
    }
    return safe;
  }

  close(): void { this.processor.close(); }
}
