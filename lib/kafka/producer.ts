/**
 * Producers: TaplineProducer (idempotent, acks=all: a resolved send is durable) and
 * TransactionalProducer (exactly-once stages: outputs, changelog records and the consumed
 * offsets commit atomically, or not at all).
 */
import type { CompressionTypes, Producer } from 'kafkajs';
import type { OutMessage } from './client';

/**
 * Bytes of messages per produce request. The broker refuses a record batch over its
 * message.max.bytes (1 MiB by default) and kafkajs treats that as fatal, so a stage whose one
 * input batch fans out into many outputs (identify, the detectors' repartition stages) sends them
 * in several requests — inside the same transaction when there is one.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

type TopicMessages = { topic: string; messages: OutMessage[] };

function size(m: OutMessage): number {
  const len = (x: string | Buffer | null | undefined) => (x === null || x === undefined ? 0 : typeof x === 'string' ? Buffer.byteLength(x) : x.length);
  return len(m.key) + len(m.value) + 32;
}

/** Splits batches into requests of at most maxBytes (a single larger message goes alone). */
export function chunkRequests(batches: TopicMessages[], maxBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const out: TopicMessages[][] = [];
  let cur: TopicMessages[] = [];
  let bytes = 0;
  for (const b of batches) {
    let part: OutMessage[] = [];
    for (const m of b.messages) {
      const n = size(m);
      if (bytes + n > maxBytes && bytes > 0) {
        if (part.length) cur.push({ topic: b.topic, messages: part });
        out.push(cur);
        cur = []; part = []; bytes = 0;
      }
      part.push(m);
      bytes += n;
    }
    if (part.length) cur.push({ topic: b.topic, messages: part });
  }
  if (cur.length) out.push(cur);
  return out;
}

export interface PartitionSource { partitionCount(topic: string): Promise<number> }

export class TaplineProducer {
  private connected = false;
  constructor(private readonly p: Producer, private readonly compression: CompressionTypes, private readonly client: PartitionSource) {}

  partitionCount(topic: string): Promise<number> { return this.client.partitionCount(topic); }

  async connect(): Promise<void> {
    if (!this.connected) { await this.p.connect(); this.connected = true; }
  }

  /** Sends and waits for the broker's acknowledgement (acks=all), so a caller can count on it. */
  async send(topic: string, messages: OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    for (const req of chunkRequests([{ topic, messages }])) await this.p.send({ topic, acks: -1, compression: this.compression, messages: req[0].messages });
  }

  async sendMany(batches: { topic: string; messages: OutMessage[] }[]): Promise<void> {
    const nonEmpty = batches.filter((b) => b.messages.length > 0);
    if (nonEmpty.length === 0) return;
    await this.connect();
    for (const req of chunkRequests(nonEmpty)) await this.p.sendBatch({ acks: -1, compression: this.compression, topicMessages: req });
  }

  async close(): Promise<void> {
    if (this.connected) { this.connected = false; await this.p.disconnect(); }
  }
}


export interface TxnOffsets { groupId: string; topic: string; partition: number; offset: bigint /* next offset to read */ }

export class TransactionalProducer {
  private connected = false;
  constructor(private readonly p: Producer, private readonly compression: CompressionTypes, readonly transactionalId: string) {}

  /** Connecting registers the transactional id; this fences any older producer with the same id. */
  async connect(): Promise<void> {
    if (!this.connected) { await this.p.connect(); this.connected = true; }
  }

  /**
   * One transaction: all batches and the input offsets become visible to read_committed
   * consumers together, or the transaction is aborted and the error rethrown.
   */
  async commit(batches: { topic: string; messages: OutMessage[] }[], offsets: TxnOffsets | null): Promise<void> {
    await this.connect();
    const txn = await this.p.transaction();
    try {
      const nonEmpty = batches.filter((b) => b.messages.length > 0);
      for (const req of chunkRequests(nonEmpty)) await txn.sendBatch({ acks: -1, compression: this.compression, topicMessages: req });
      if (offsets) {
        await txn.sendOffsets({ consumerGroupId: offsets.groupId,
          topics: [{ topic: offsets.topic, partitions: [{ partition: offsets.partition, offset: offsets.offset.toString() }] }] });
      }
      await txn.commit();
    } catch (e) {
      await txn.abort().catch(() => undefined);
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.connected) { this.connected = false; await this.p.disconnect().catch(() => undefined); }
  }
}
