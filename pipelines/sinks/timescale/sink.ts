/**
 * The TimescaleDB sink: flow windows from Kafka into the flow_windows hypertable.
 * Per batch: decode (poison -> dead-letter), dedupe by row key, upsert in one transaction,
 * then commit the Kafka offsets — never before the database commit, so a crash re-delivers
 * and the upsert makes the replay harmless.
 */
import type { Pool } from 'pg';
import path from 'node:path';
import { AvroCodec } from '../../../schemas';
import type { FlowWindow } from '../../../schemas/types';
import { ComponentMetrics } from '../../../lib/metrics';
import { logger } from '../../../lib/log';
import { errorMessage, isTaplineError } from '../../../lib/errors';
import { loadMigrations, migrate } from '../../../lib/db/migrate';
import type { InBatch, KafkaClient, OutMessage, TaplineConsumer, TaplineProducer } from '../../../lib/kafka';
import { Completion, EndOffsets, prepareBoundedRun, type OffsetRange } from '../../runtime/bounded';
import { FLOW_COLUMNS, FLOW_CONFLICT_KEY, flowRow, flowRowKey } from './rows';
import { RowWriter } from './writer';
import type { TimescaleSinkConfig } from './config';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

export async function migrateSinkSchema(pool: Pool): Promise<number[]> {
  return migrate(pool, loadMigrations(MIGRATIONS_DIR));
}

export interface SinkOptions { kafka: KafkaClient; pool: Pool; bounded?: boolean; range?: OffsetRange }

export class TimescaleSink {
  readonly metrics = new ComponentMetrics('sink-timescale');
  private readonly log = logger('sink-timescale');
  private readonly codec = new AvroCodec<FlowWindow>('flow-window.v1');
  private writer: RowWriter<FlowWindow> | null = null;
  private consumer: TaplineConsumer | null = null;
  private producer: TaplineProducer | null = null;
  private ends: EndOffsets | null = null;
  private readonly completion = new Completion();
  private closed = false;

  constructor(private readonly cfg: TimescaleSinkConfig, private readonly opts: SinkOptions) {}

  async start(): Promise<void> {
    await migrateSinkSchema(this.opts.pool);
    this.writer = new RowWriter(this.opts.pool, {
      table: 'flow_windows', columns: FLOW_COLUMNS, conflictKey: FLOW_CONFLICT_KEY, chunkSize: this.cfg.batchSize,
    }, flowRow);
    this.producer = this.opts.kafka.producer({ idempotent: true });
    await this.producer.connect();
    if (this.opts.bounded) {
      this.ends = await prepareBoundedRun(this.opts.kafka, this.cfg.topic, this.cfg.groupId, this.opts.range);
      if (this.ends.complete) { this.completion.resolve(); return; }
    }
    this.consumer = this.opts.kafka.consumer(this.cfg.groupId);
    const startAt = this.opts.range ? { topic: this.cfg.topic, offsets: this.opts.range.from } : undefined;
    this.consumer.run([this.cfg.topic], (b, ctl) => this.onBatch(b, ctl.heartbeat), {
      startAt,
      // Progress includes batches of only transaction markers (the topic is written transactionally).
      onProgress: (_t, p, next) => { if (this.ends?.advance(p, next)) this.completion.resolve(); },
    }).catch((e: Error) => this.completion.reject(e));
  }

  done(): Promise<void> { return this.completion.promise; }

  private async onBatch(batch: InBatch, heartbeat: () => Promise<void>): Promise<void> {
    const byKey = new Map<string, FlowWindow>();
    const deadLetters: OutMessage[] = [];
    let lastOffset: bigint | null = null;
    for (const m of batch.messages) {
      if (this.ends?.before(batch.partition, m.offset)) continue; // replay: before the requested start
      if (this.ends?.beyond(batch.partition, m.offset)) break; // not part of this bounded run
      lastOffset = m.offset;
      this.metrics.received();
      try {
        if (m.value === null) throw new Error('message has no value (tombstone)');
        const w = this.codec.decode(m.value);
        byKey.set(flowRowKey(w), w); // a replayed window later in the batch replaces the earlier one
      } catch (e) {
        this.deadLetter(deadLetters, m.key, m.value, isTaplineError(e) ? e.code : 'AVRO_DECODE', errorMessage(e), `${batch.topic}/${batch.partition}/${m.offset}`);
      }
    }
    const rejected = await this.writer!.write([...byKey.values()], heartbeat);
    for (const r of rejected) this.deadLetter(deadLetters, r.item.flow_key, this.codec.encode(r.item), 'DB_REJECTED', r.error, `${batch.topic}/${batch.partition}`);
    this.metrics.sent(byKey.size - rejected.length);
    if (deadLetters.length) await this.producer!.send(this.cfg.deadLetterTopic, deadLetters);
    if (lastOffset !== null) {
      await this.consumer!.commit([{ topic: batch.topic, partition: batch.partition, offset: lastOffset + 1n }]);
    }
  }

  private deadLetter(out: OutMessage[], key: string | Buffer | null, value: Buffer | null, code: string, reason: string, source: string): void {
    this.metrics.error(code);
    this.metrics.dropped('dead-letter');
    this.log.warn({ code, reason, source }, 'record dead-lettered');
    out.push({ key, value, headers: { 'tapline.code': code, 'tapline.reason': reason, 'tapline.stage': 'sink-timescale', 'tapline.source': source } });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writer?.close();
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }
}
