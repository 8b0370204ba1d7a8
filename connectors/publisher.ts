/**
 * Publishes packet summaries to Kafka. Each summary goes to the partition its
 * direction-independent flow key hashes to (Kafka's own murmur2 partitioning), so both
 * directions of a connection meet in one partition; the summaries of a partition travel
 * together as one Avro PacketBatch message (see schemas/packet-batch.v1.avsc for why).
 *
 * add() returns a promise only when a flush was due, so a file source that awaits it is paused
 * by a slow broker (back-pressure, no unbounded buffering); a live source checks `backlog`
 * and drops instead of waiting.
 */
import { AvroCodec } from '../schemas';
import type { PacketSummary } from '../schemas/types';
import { packetFlowKey } from '../lib/flow-key';
import { partitionForKey, type OutMessage, type TaplineProducer } from '../lib/kafka';
import type { ComponentMetrics } from '../lib/metrics';
import { TaplineError } from '../lib/errors';

/** A batch Kafka did not take: `lost` summaries are gone (counted by the source as dropped). */
export class PublishError extends TaplineError {
  constructor(readonly lost: number, cause: unknown) {
    super('KAFKA_UNREACHABLE', 'publisher', `${lost} packet summaries could not be sent to Kafka: ${(cause as Error)?.message ?? String(cause)}`,
      { retriable: true, cause });
  }
}

/** Kafka's default message.max.bytes is ~1 MiB; stay well below it whatever the payload prefixes. */
const MAX_MESSAGE_BYTES = 900_000;
const MAX_RECORDS_PER_MESSAGE = 1000;

export class PacketPublisher {
  private readonly codec = new AvroCodec<{ records: PacketSummary[] }>('packet-batch.v1');
  private pending: PacketSummary[] = [];
  private keys: string[] = [];
  private partitions = 0;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly producer: TaplineProducer, private readonly topic: string,
    private readonly metrics: ComponentMetrics, private readonly batchSize = 5000) {}

  /** Summaries accepted but not yet acknowledged by Kafka (queued plus the batch in flight). */
  get backlog(): number { return this.pending.length + this.inFlightCount; }

  private inFlightCount = 0;
  private failure: unknown = null;

  /**
   * Queues one summary. When a batch is full it is sent in the background, so decoding the next
   * batch overlaps the broker round trip; if the previous batch is still in flight, the returned
   * promise makes the caller wait for it (at most two batches in memory, order preserved).
   */
  add(p: PacketSummary): Promise<void> | null {
    this.pending.push(p);
    this.keys.push(packetFlowKey(p));
    if (this.pending.length < this.batchSize) return null;
    if (this.inFlight) return this.inFlight.then(() => this.startSend());
    try {
      this.startSend();
    } catch (e) {
      // Never throw from add(): live sources call it from socket callbacks.
      return Promise.reject(e);
    }
    return null;
  }

  /** Sends everything queued; resolves when Kafka acknowledged all of it. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.rethrow();
    this.startSend();
    while (this.inFlight) await this.inFlight;
    this.rethrow();
  }

  private startSend(): void {
    this.rethrow();
    if (this.pending.length === 0) return;
    const records = this.pending, keys = this.keys;
    this.pending = [];
    this.keys = [];
    this.inFlightCount = records.length;
    this.inFlight = this.send(records, keys)
      .catch((e: unknown) => {
        // Rethrown to the caller at its next add()/flush(); the caller counts it (it owns the
        // source's counters), and PublishError.lost says how many summaries were lost.
        this.failure = new PublishError(records.length, e);
      })
      .finally(() => { this.inFlight = null; this.inFlightCount = 0; });
  }

  /** A failed background send surfaces at the next add()/flush(): nothing is dropped silently. */
  private rethrow(): void {
    if (this.failure !== null) {
      const e = this.failure;
      this.failure = null;
      throw e;
    }
  }

  private async send(records: PacketSummary[], keys: string[]): Promise<void> {
    if (this.partitions === 0) this.partitions = await this.producer.partitionCount(this.topic);
    const byPartition: PacketSummary[][] = Array.from({ length: this.partitions }, () => []);
    for (let i = 0; i < records.length; i++) byPartition[partitionForKey(keys[i], this.partitions)].push(records[i]);
    const messages: OutMessage[] = [];
    byPartition.forEach((batch, partition) => {
      for (let i = 0; i < batch.length; i += MAX_RECORDS_PER_MESSAGE) this.encodeInto(messages, batch.slice(i, i + MAX_RECORDS_PER_MESSAGE), partition);
    });
    // The broker limits a partition's record batch per request (message.max.bytes), not each
    // message: send in rounds that carry at most one message per partition.
    const rounds: OutMessage[][] = [];
    const seen = new Map<number, number>();
    for (const m of messages) {
      const r = seen.get(m.partition!) ?? 0;
      seen.set(m.partition!, r + 1);
      (rounds[r] ??= []).push(m);
    }
    for (const round of rounds) await this.producer.send(this.topic, round);
    this.metrics.sent(records.length);
  }

  /** Encodes one batch message, halving it until it fits the broker's message size limit. */
  private encodeInto(out: OutMessage[], batch: PacketSummary[], partition: number): void {
    const value = this.codec.encode({ records: batch });
    if (value.length > MAX_MESSAGE_BYTES && batch.length > 1) {
      const half = batch.length >> 1;
      this.encodeInto(out, batch.slice(0, half), partition);
      this.encodeInto(out, batch.slice(half), partition);
      return;
    }
    out.push({ key: null, partition, value, headers: { 'tapline.count': String(batch.length) } });
  }
}
