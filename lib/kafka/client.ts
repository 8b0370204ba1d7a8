/**
 * Thin, typed wrapper over kafkajs: topics, an idempotent batching producer, and a consumer that
 * hands whole batches to the caller and commits only what the caller says it has finished.
 * kafkajs' own logs are routed into our structured logger.
 */
import { CompressionTypes, Kafka, Partitioners, logLevel, type Admin, type LogEntry } from 'kafkajs';
import { TaplineProducer, TransactionalProducer } from './producer';
import { TaplineConsumer } from './consumer';
import { logger } from '../log';
import { TaplineError } from '../errors';

const log = logger('kafka');

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  compression?: 'none' | 'gzip';
  /** How long a silent consumer keeps its partitions (a killed worker's are reassigned after this). */
  sessionTimeoutMs?: number;
  /** Upper bound of one fetch per partition: smaller = smaller batches and transactions. */
  maxBytesPerPartition?: number;
}

export interface TopicSpec { topic: string; partitions: number; compacted?: boolean; retentionMs?: number }

export interface OutMessage { key: string | Buffer | null; value: Buffer | null; headers?: Record<string, string>; partition?: number }

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
    // kafkajs logs every error response at ERROR, even the ones it retries (coordinator
    // loading, leader moved): those are warnings for us; real failures surface as exceptions.
    // Transactional producers retry a bounded number of times on purpose (a stuck transaction
    // must fail the task, which is then restored), so kafkajs' advice to retry forever is noise.
    if (message.startsWith('Limiting retries for the idempotent producer')) { log.debug(fields, message); return; }
    const retried = (namespace === 'Connection' && message.startsWith('Response ')) || 'retryCount' in extra;
    if (level === logLevel.ERROR && retried) log.debug(fields, message);
    else if (level === logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else log.debug(fields, message);
  };
}

export class KafkaClient {
  private readonly kafka: Kafka;
  private adminClient: Admin | null = null;
  private readonly partitionCounts = new Map<string, number>();

  constructor(readonly settings: KafkaSettings) {
    this.kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator,
      retry: { retries: 8, initialRetryTime: 200 },
    });
  }

  /**
   * Admin calls right after a broker starts meet "coordinator loading" / "not the correct
   * coordinator" answers; kafkajs marks those retriable. Retry them for up to ~30 s.
   */
  private async withRetry<T>(what: string, fn: (a: Admin) => Promise<T>): Promise<T> {
    let delay = 100;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await fn(await this.admin());
      } catch (e) {
        const retriable = (e as { retriable?: boolean }).retriable === true;
        if (!retriable || Date.now() > deadline) throw e;
        log.debug({ what, err: (e as Error).message }, 'retrying kafka admin call');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
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
    const existing = new Set(await this.withRetry('listTopics', (a) => a.listTopics()));
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    await this.withRetry('createTopics', (admin) => admin.createTopics({
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
    }));
  }

  async deleteTopics(topics: string[]): Promise<void> {
    const admin = await this.admin();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length) await admin.deleteTopics({ topics: present });
  }

  /** Number of partitions of a topic (cached: tapline never changes it while running). */
  async partitionCount(topic: string): Promise<number> {
    let n = this.partitionCounts.get(topic);
    if (n === undefined) {
      const md = await this.withRetry('fetchTopicMetadata', (a) => a.fetchTopicMetadata({ topics: [topic] }));
      n = md.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new TaplineError('KAFKA_UNREACHABLE', 'kafka', `topic ${topic} has no partitions (does it exist?)`);
      this.partitionCounts.set(topic, n);
    }
    return n;
  }

  /** Next offset to be written, per partition. */
  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    const offs = await this.withRetry('fetchTopicOffsets', (a) => a.fetchTopicOffsets(topic));
    return new Map(offs.map((o) => [o.partition, BigInt(o.high)]));
  }

  /**
   * Positions a consumer group (which must have no active members) on explicit offsets, e.g.
   * to replay exactly the records one run published.
   */
  async setGroupOffsets(groupId: string, topic: string, offsets: Map<number, bigint>): Promise<void> {
    const partitions = [...offsets].map(([partition, o]) => ({ partition, offset: o.toString() }));
    await this.withRetry('setOffsets', (a) => a.setOffsets({ groupId, topic, partitions }));
  }

  /** The group's committed next-offset per partition (-1 when it has none). */
  async committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>> {
    const res = await this.withRetry('fetchOffsets', (a) => a.fetchOffsets({ groupId, topics: [topic] }));
    const m = new Map<number, bigint>();
    for (const t of res) for (const p of t.partitions) m.set(p.partition, BigInt(p.offset));
    return m;
  }

  producer(opts: { idempotent?: boolean } = {}): TaplineProducer {
    const idempotent = opts.idempotent ?? true;
    return new TaplineProducer(this.kafka.producer({
      idempotent,
      maxInFlightRequests: idempotent ? 5 : undefined,
      allowAutoTopicCreation: false,
      // Java-compatible murmur2 partitioning of keys, chosen explicitly.
      createPartitioner: Partitioners.DefaultPartitioner,
      // An idempotent producer keeps retrying instead of dropping: with a file source the
      // sender simply waits (back-pressure); a broker that stays away shows in the logs.
      retry: idempotent ? { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 10_000 } : undefined,
    }), this.settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None, this);
  }

  /**
   * A transactional producer. The id must be stable for the work it does (tapline uses
   * <group>-<topic>-<partition>): a new producer with the same id fences the old one, which is
   * how a restarted or rebalanced worker stops a zombie from committing.
   */
  transactionalProducer(transactionalId: string): TransactionalProducer {
    return new TransactionalProducer(this.kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the coordinator still writes
      // the previous commit's markers (a few ms); kafkajs' default first retry (300 ms) would
      // make every transaction cost that much. Retry quickly instead.
      retry: { initialRetryTime: 10, retries: 30, maxRetryTime: 2_000 },
    }), this.settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None, transactionalId);
  }

  /** First and next-to-write offset per partition. */
  async offsetRanges(topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
    const offs = await this.withRetry('fetchTopicOffsets', (a) => a.fetchTopicOffsets(topic));
    return new Map(offs.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.withRetry('deleteGroups', (a) => a.deleteGroups([groupId])).catch(() => undefined);
  }

  consumer(groupId: string): TaplineConsumer {
    return new TaplineConsumer(this.kafka.consumer({
      groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: this.settings.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((this.settings.sessionTimeoutMs ?? 30_000) / 3)),
      maxBytesPerPartition: this.settings.maxBytesPerPartition ?? 4 * 1024 * 1024,
      // kafkajs waits up to 5 s for minBytes by default; bounded runs and low-volume streams
      // would sit idle that long at every tail. Half a second keeps latency low.
      maxWaitTimeInMs: 500,
    }));
  }

  async close(): Promise<void> {
    const a = this.adminClient;
    this.adminClient = null;
    if (a) await a.disconnect().catch(() => undefined);
  }
}

export function assertBrokers(brokers: string[]): void {
  if (brokers.length === 0) throw new TaplineError('CONFIG_INVALID', 'kafka', 'no Kafka brokers to connect to');
}
