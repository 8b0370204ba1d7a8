/**
 * The TimescaleDB sink: the stage topics (one TableSpec each, tables/) into their hypertables.
 * Per batch (one topic partition): decode (poison -> dead-letter), rows per spec, upsert all
 * rows in one transaction (a plain insert, an upsert where a key exists; while the next batch is fetched and decoded), dead-letter the
 * records the database refuses, then commit the Kafka offsets — never before the database commit, so a crash re-delivers and the upsert makes the
 * replay harmless. While the database is unreachable the batch handler retries with backoff,
 * which stops consumption (heart-beating meanwhile) until it is back.
 */
import type { Pool } from 'pg';
import path from 'node:path';
import { AvroCodec } from '../../../schemas';
import { ComponentMetrics } from '../../../lib/metrics';
import { logger } from '../../../lib/log';
import { TaplineError, errorMessage, isTaplineError } from '../../../lib/errors';
import { loadMigrations, migrate } from '../../../lib/db/migrate';
import type { TaplineConfig } from '../../../lib/config';
import type { InBatch, InMessage, KafkaClient, OutMessage, TaplineConsumer, TaplineProducer } from '../../../lib/kafka';
import { Completion, EndOffsets, prepareBoundedRun, type OffsetRange } from '../../runtime/bounded';
import { BatchWriter, yieldToLoop, type PendingRecord, type PreparedBatch } from './batch-writer';
import { TimescaleSinkConfigSchema, type TimescaleSinkConfig } from './config';
import { SPEC_NAMES, tableSpec, type TableSpec } from './tables';

/** Records decoded between two yields to the event loop (~2 ms of work). */
const DECODE_SLICE = 500;
/** Statements (of batchSize rows) per slice: per transaction and offset commit. */
const SLICE_STATEMENTS = 2;
/**
 * Slices decoded ahead of the database. Enough to cover a fetch: kafkajs fetches the next batches
 * only once the handler has returned from the last one, and parsing 4 MB per partition takes a
 * while, during which the database would otherwise idle.
 */
const MAX_QUEUED = 8;

/** A record's rows, in the order its spec emits them. */
export function rowsOf(spec: TableSpec, record: Record<string, unknown>, raw: Buffer, repeat: number): [number, unknown[]][] {
  const out: [number, unknown[]][] = [];
  spec.rows(record, { raw, repeat }, (t, row) => { out.push([t, row]); });
  return out;
}

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

export async function migrateSinkSchema(pool: Pool): Promise<number[]> {
  return migrate(pool, loadMigrations(MIGRATIONS_DIR));
}

/** topic -> spec for a configuration; throws CONFIG_INVALID for unknown tables or a topic used twice. */
export function sinkTopics(input: TimescaleSinkConfig): Map<string, TableSpec> {
  const cfg = TimescaleSinkConfigSchema.parse(input);
  const names = cfg.tables ?? (cfg.topic !== undefined ? ['flow_windows'] : SPEC_NAMES);
  const out = new Map<string, TableSpec>();
  for (const n of [...names, ...Object.keys(cfg.topics)]) {
    if (!SPEC_NAMES.includes(n)) throw new TaplineError('CONFIG_INVALID', 'sink-timescale', `unknown sink table "${n}" (known: ${SPEC_NAMES.join(', ')})`);
  }
  for (const n of names) {
    const spec = tableSpec(n);
    const topic = cfg.topics[n] ?? (n === 'flow_windows' && cfg.topic !== undefined ? cfg.topic : spec.defaultTopic);
    const other = out.get(topic);
    if (other) throw new TaplineError('CONFIG_INVALID', 'sink-timescale', `topic ${topic} is configured for both ${other.name} and ${n}`);
    out.set(topic, spec);
  }
  return out;
}

/** The sink's configuration from tapline's: sink.tables / sink.topics, flow windows from topics.flows. */
export function sinkConfigFrom(cfg: TaplineConfig): TimescaleSinkConfig {
  return { tables: cfg.sink.tables, topics: { flow_windows: cfg.topics.flows, ...cfg.sink.topics },
    deadLetterTopic: cfg.topics.deadLetter, groupId: 'tapline-sink-timescale', batchSize: cfg.sink.batchSize };
}

export interface SinkOptions {
  kafka: KafkaClient;
  pool: Pool;
  bounded?: boolean;
  /** Bounded replays of exactly these offsets (single-topic configurations only). */
  range?: OffsetRange;
  /** Apply the migrations on start (default true; false for a database prepared otherwise, e.g. a benchmark). */
  migrate?: boolean;
}

interface Lane { spec: TableSpec; codec: AvroCodec<Record<string, unknown>>; writer: BatchWriter }

export class TimescaleSink {
  readonly metrics = new ComponentMetrics('sink-timescale');
  private readonly log = logger('sink-timescale');
  private readonly lanes = new Map<string, Lane>();
  private readonly lastValue = new Map<string, { offset: bigint; value: Buffer; repeat: number; runStart: bigint }>();
  private consumer: TaplineConsumer | null = null;
  private producer: TaplineProducer | null = null;
  private ends: Map<string, EndOffsets> | null = null;
  private readonly completion = new Completion();
  private closed = false;
  /** The last queued slice's database write, and its offset commit (which follows every earlier one). */
  private writes: Promise<void> = Promise.resolve();
  private inflight: Promise<void> = Promise.resolve();
  private readonly queued: Promise<void>[] = [];
  private failure: Error | null = null;
  private readonly cfg: ReturnType<typeof TimescaleSinkConfigSchema.parse>;

  constructor(cfg: TimescaleSinkConfig, private readonly opts: SinkOptions) {
    this.cfg = TimescaleSinkConfigSchema.parse(cfg);
  }

  /** Rows written per table (targets included), for summaries and tests. */
  readonly rowsByTable = new Map<string, number>();

  get writerRetries(): number { return [...this.lanes.values()].reduce((n, l) => n + l.writer.retries, 0); }
  /** Transactions whose plain insert met an existing key and were written again as upserts (batch-writer.ts). */
  get writerConflicts(): number { return [...this.lanes.values()].reduce((n, l) => n + l.writer.conflicts, 0); }

  async start(): Promise<void> {
    const topics = await this.existingTopics(sinkTopics(this.cfg));
    if (this.opts.range && topics.size !== 1) throw new TaplineError('CONFIG_INVALID', 'sink-timescale', 'an offset range needs a single-topic sink');
    if (this.opts.migrate ?? true) await migrateSinkSchema(this.opts.pool);
    for (const [topic, spec] of topics) {
      this.lanes.set(topic, { spec, codec: new AvroCodec(spec.schema),
        writer: new BatchWriter(this.opts.pool, spec.targets, { chunkSize: this.cfg.batchSize, maxBackoffMs: this.cfg.maxBackoffMs }) });
    }
    this.producer = this.opts.kafka.producer({ idempotent: true });
    await this.producer.connect();
    const names = [...topics.keys()];
    if (this.opts.bounded) {
      this.ends = new Map();
      for (const t of names) this.ends.set(t, await prepareBoundedRun(this.opts.kafka, t, this.cfg.groupId, this.opts.range));
      if (this.complete()) { this.completion.resolve(); return; }
    }
    this.consumer = this.opts.kafka.consumer(this.cfg.groupId);
    const startAt = this.opts.range ? { topic: names[0], offsets: this.opts.range.from } : undefined;
    this.consumer.run(names, (b, ctl) => this.onBatch(b, ctl.heartbeat), {
      startAt,
      // Progress includes batches of only transaction markers (the topics are written transactionally).
      // Complete once the last write has committed too.
      onProgress: (t, p, next) => {
        if (this.ends?.get(t)?.advance(p, next) && this.complete()) this.inflight.then(() => this.completion.resolve(), (e: Error) => this.completion.reject(e));
      },
      onCrash: (e) => this.completion.reject(e),
    }).catch((e: Error) => this.completion.reject(e));
  }

  done(): Promise<void> { return this.completion.promise; }

  /**
   * A topic nobody has created yet: a bounded run has nothing to read there (skipped); a
   * streaming sink cannot subscribe to it, so it says how to create the pipeline's topics.
   */
  private async existingTopics(topics: Map<string, TableSpec>): Promise<Map<string, TableSpec>> {
    const out = new Map<string, TableSpec>();
    for (const [topic, spec] of topics) {
      try {
        await this.opts.kafka.partitionCount(topic);
        out.set(topic, spec);
      } catch (e) {
        if (!this.opts.bounded) {
          throw new TaplineError('CONFIG_INVALID', 'sink-timescale', `topic ${topic} (table ${spec.name}) does not exist: \`tapline topics\` creates the pipeline's topics (${errorMessage(e)})`);
        }
        this.log.info({ topic, table: spec.name }, 'topic does not exist: nothing to read for this table');
      }
    }
    return out;
  }

  private complete(): boolean { return [...(this.ends?.values() ?? [])].every((e) => e.complete); }

  /**
   * A fetched batch (one partition, up to 4 MB) is decoded and written in slices of
   * SLICE_STATEMENTS statements, each its own transaction followed by its offset commit: the
   * database starts on the first slice while the rest is decoded, instead of idling through a
   * whole batch's decode.
   */
  private async onBatch(batch: InBatch, heartbeat: () => Promise<void>): Promise<void> {
    // A failed write or commit fails every later batch (nothing after it may be committed), at
    // once rather than when the queue is next full: the consumer's error handling takes over.
    if (this.failure) throw this.failure;
    const lane = this.lanes.get(batch.topic);
    if (!lane) return;
    const ends = this.ends?.get(batch.topic);
    const source = `${batch.topic}/${batch.partition}`;
    const sliceSize = this.cfg.batchSize * SLICE_STATEMENTS;
    let rows = lane.writer.batch<InMessage>();
    // A message's rows are not kept (columns are); should the database refuse a slice, they are
    // built again from the message, with the repeat count it had (repeatOf() is stateful).
    const repeats = new Map<InMessage, number>();
    let deadLetters: OutMessage[] = [];
    let lastOffset: bigint | null = null;
    // Where the slice's trailing run of identical records starts (specs with usesRepeat): the
    // offset to commit instead of lastOffset + 1, as the run's numbering is not kept elsewhere.
    let runStart: bigint | null = null;
    let received = 0;
    const flush = async () => {
      this.metrics.received(received);
      const rebuild = (m: InMessage): PendingRecord<InMessage> =>
        ({ ref: m, rows: rowsOf(lane.spec, lane.codec.decode(m.value!), m.value!, repeats.get(m) ?? 0) });
      const prepared = await lane.writer.prepareAsync(rows, rebuild);
      const commitAt = runStart ?? (lastOffset === null ? null : lastOffset + 1n);
      await this.enqueue(lane, batch, source, prepared, deadLetters, commitAt, heartbeat);
      rows = lane.writer.batch<InMessage>();
      deadLetters = [];
      received = 0;
    };
    let sliced = 0;
    for (const m of batch.messages) {
      // decode in slices: a write in flight sends its next statement in between
      if (++sliced % DECODE_SLICE === 0) await yieldToLoop();
      if (ends?.before(batch.partition, m.offset)) continue; // replay: before the requested start
      if (ends?.beyond(batch.partition, m.offset)) break; // not part of this bounded run
      lastOffset = m.offset;
      runStart = null;
      received++;
      if (m.value === null && lane.spec.tombstones === 'skip') { this.metrics.dropped('tombstone'); continue; }
      let stage = 'AVRO_DECODE';
      try {
        if (m.value === null) throw new Error('message has no value (tombstone)');
        const record = lane.codec.decode(m.value);
        stage = 'ROW_INVALID';
        const repeat = this.repeatOf(source, m.offset, m.value);
        if (repeat !== 0) repeats.set(m, repeat);
        if (lane.spec.usesRepeat) runStart = this.lastValue.get(source)!.runStart;
        rows.add(m, rowsOf(lane.spec, record, m.value, repeat));
      } catch (e) {
        this.deadLetter(deadLetters, m.key, m.value, isTaplineError(e) ? e.code : stage, errorMessage(e), `${source}/${m.offset}`);
      }
      if (received >= sliceSize) await flush();
    }
    if (received > 0 || deadLetters.length > 0) await flush();
  }

  /**
   * Queues a slice's write and offset commit. Writes run one after the other, and so do commits,
   * but a commit overlaps the next slice's write; a slice's offsets are committed only after its
   * own database commit and every earlier slice's offsets. A failure rejects every later step
   * (nothing is committed past it); at most MAX_QUEUED slices wait, which is the backpressure:
   * while the database is down, no further batch is fetched.
   */
  private async enqueue(lane: Lane, batch: InBatch, source: string, prepared: PreparedBatch<InMessage>, deadLetters: OutMessage[],
    nextOffset: bigint | null, heartbeat: () => Promise<void>): Promise<void> {
    while (this.queued.length >= MAX_QUEUED) await this.queued.shift();
    const written = this.writes.then(() => this.writeSlice(lane, source, prepared, deadLetters, heartbeat));
    const committed = Promise.all([written, this.inflight]).then(() => this.commitSlice(batch, deadLetters, nextOffset));
    written.catch(() => undefined); // observed through `committed`
    committed.catch((e: Error) => { this.failure ??= e; }); // thrown by the next batch, by completion, by close()
    this.writes = written;
    this.inflight = committed;
    this.queued.push(committed);
  }

  private async writeSlice(lane: Lane, source: string, prepared: PreparedBatch<InMessage>, deadLetters: OutMessage[], heartbeat: () => Promise<void>): Promise<void> {
    const rejected = await lane.writer.write(prepared, heartbeat);
    for (const r of rejected) this.deadLetter(deadLetters, r.ref.key, r.ref.value, 'DB_REJECTED', r.error, `${source}/${r.ref.offset}`);
    this.metrics.sent(prepared.refs.length - rejected.length);
    const added = [...prepared.added];
    if (rejected.length) {
      // the refused records' rows were not written
      const bad = new Set(rejected.map((r) => r.ref));
      for (const p of prepared.records()) if (bad.has(p.ref)) for (const [t] of p.rows) added[t]--;
    }
    added.forEach((n, t) => { if (n === 0) return; const table = lane.spec.targets[t].table; this.rowsByTable.set(table, (this.rowsByTable.get(table) ?? 0) + n); });
  }

  private async commitSlice(batch: InBatch, deadLetters: OutMessage[], nextOffset: bigint | null): Promise<void> {
    if (deadLetters.length) await this.producer!.send(this.cfg.deadLetterTopic, deadLetters);
    if (nextOffset !== null) {
      // The slice's rows are durable: a failed offset commit (a rebalance in progress, a broker
      // blip) is covered by the next slice's commit, or re-delivers rows the upsert makes
      // harmless. Failing every later batch for it would stop the sink for good.
      try {
        await this.consumer!.commit([{ topic: batch.topic, partition: batch.partition, offset: nextOffset }]);
      } catch (e) {
        this.metrics.error('COMMIT_FAILED');
        this.log.warn({ topic: batch.topic, partition: batch.partition, offset: String(nextOffset), err: errorMessage(e) }, 'offset commit failed; the next commit covers it');
      }
    }
  }

  /**
   * How many messages right before this one in its partition had exactly the same bytes. A
   * message delivered again (same offset, after a failed batch) keeps its number.
   */
  private repeatOf(source: string, offset: bigint, value: Buffer): number {
    const prev = this.lastValue.get(source);
    let repeat = 0;
    let runStart = offset; // the offset of the run's first record (repeat 0)
    if (prev && prev.offset === offset) ({ repeat, runStart } = prev);
    else if (prev && prev.offset < offset && prev.value.equals(value)) { repeat = prev.repeat + 1; runStart = prev.runStart; }
    this.lastValue.set(source, { offset, value, repeat, runStart });
    return repeat;
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
    for (const l of this.lanes.values()) l.writer.close(); // a write retrying a lost database gives up
    await this.inflight.catch(() => undefined);
    await this.consumer?.close().catch(() => undefined);
    await this.producer?.close().catch(() => undefined);
  }
}
