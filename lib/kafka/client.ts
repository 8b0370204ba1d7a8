/**
 * Thin, typed wrapper over kafkajs: topics, an idempotent batching producer, and a consumer that
 * hands whole batches to the caller and commits only what the caller says it has finished.
 * kafkajs' own logs are routed into our structured logger.
 */
import { CompressionTypes, Kafka, logLevel, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import { logger } from '../log';
import { TaplineError } from '../errors';

const log = logger('kafka');

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  compression?: 'none' | 'gzip';
}

export interface TopicSpec { topic: string; partitions: number; compacted?: boolean; retentionMs?: number }

export interface OutMessage { key: string | Buffer | null; value: Buffer | null; headers?: Record<string, string> }

export interface InMessage {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
  headers: Record<string, string>;
}

export interface InBatch { topic: string; partition: number; messages: InMessage[]; highWatermark: bigint }

export interface OffsetCommit { topic: string; partition: number; offset: bigint /* next offset to read */ }

function kafkaLogCreator() {
  return ({ namespace, level, log: entry }: LogEntry) => {
    const { message, ...extra } = entry;
    const fields = { ns: namespace, ...extra };
    if (level === logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else log.debug(fields, message);
  };
}

export class KafkaClient {
  private readonly kafka: Kafka;
  private adminClient: Admin | null = null;

  constructor(readonly settings: KafkaSettings) {
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator,
      retry: { retries: 8, initialRetryTime: 200 },
    });
  }

  private async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const a = this.kafka.admin();
      await a.connect();
      this.adminClient = a;
    }
    return this.adminClient;
  }

  /** Creates missing topics; existing ones are left as they are. */
  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: 1,
        configEntries: [
          ...(s.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...(s.retentionMs ? [{ name: 'retention.ms', value: String(s.retentionMs) }] : []),
        ],
      })),
    });
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length) await admin.deleteTopics({ topics: present });
  }

  /** Next offset to be written, per partition. */
  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const admin = await this.admin();
    const offs = await admin.fetchTopicOffsets(topic);
    return new Map(offs.map((o) => [o.partition, BigInt(o.high)]));
  }

  /** The group's committed next-offset per partition (-1 when it has none). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const admin = await this.admin();
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    const m = new Map<number, bigint>();
    for (const t of res) for (const p of t.partitions) m.set(p.partition, BigInt(p.offset));
    return m;
  }

  producer(opts: { idempotent?: boolean } = {}): TaplineProducer {
    return new TaplineProducer(this.kafka.producer({
      idempotent: opts.idempotent ?? true,
      maxInFlightRequests: opts.idempotent === false ? undefined : 5,
      allowAutoTopicCreation: false,
    }), this.settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None);
  }

  consumer(groupId: string): TaplineConsumer {
    return new TaplineConsumer(this.kafka.consumer({
      groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
    }));
  }

  async close(): Promise<void> {
    const a = this.adminClient;
    this.adminClient = null;
    if (a) await a.disconnect().catch(() => undefined);
  }
}

export class TaplineProducer {
  private connected = false;
  constructor(private readonly p: Producer, private readonly compression: CompressionTypes) {}

  async connect(): Promise<void> {
    if (!this.connected) { await this.p.connect(); this.connected = true; }
  }

  /** Sends and waits for the broker's acknowledgement (acks=all), so a caller can count on it. */
  async send(topic: string, messages: OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connect();
    await this.p.send({ topic, acks: -1, compression: this.compression, messages });
  }

  async sendMany(batches: { topic: string; messages: OutMessage[] }[]): Promise<void> {
    const nonEmpty = batches.filter((b) => b.messages.length > 0);
    if (nonEmpty.length === 0) return;
    await this.connect();
    await this.p.sendBatch({ acks: -1, compression: this.compression, topicMessages: nonEmpty });
  }

  async close(): Promise<void> {
    if (this.connected) { this.connected = false; await this.p.disconnect(); }
  }
}

export type BatchHandler = (batch: InBatch) => Promise<void>;

export class TaplineConsumer {
  private running = false;
  constructor(private readonly c: Consumer) {}

  /**
   * Delivers batches one partition at a time; nothing is committed automatically. The handler
   * commits with commit() once its output is safely written (at-least-once, idempotent sinks).
   */
  async run(topics: string[], handler: BatchHandler, opts: { fromBeginning?: boolean } = {}): Promise<void> {
    await this.c.connect();
    await this.c.subscribe({ topics, fromBeginning: opts.fromBeginning ?? true });
    this.running = true;
    await this.c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const msgs: InMessage[] = batch.messages.map((m) => ({
          offset: BigInt(m.offset),
          key: m.key,
          value: m.value,
          timestampMs: Number(m.timestamp),
          headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v === undefined ? '' : String(v)])),
        }));
        await handler({ topic: batch.topic, partition: batch.partition, messages: msgs, highWatermark: BigInt(batch.highWatermark) });
        const last = batch.messages[batch.messages.length - 1];
        if (last) resolveOffset(last.offset);
        await heartbeat();
      },
    });
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.c.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset.toString() })));
  }

  pause(topic: string): void { this.c.pause([{ topic }]); }
  resume(topic: string): void { this.c.resume([{ topic }]); }

  async close(): Promise<void> {
    if (!this.running) { await this.c.disconnect().catch(() => undefined); return; }
    this.running = false;
    await this.c.disconnect();
  }
}

export function assertBrokers(brokers: string[]): void {
  if (brokers.length === 0) throw new TaplineError('CONFIG_INVALID', 'kafka', 'no Kafka brokers to connect to');
}
