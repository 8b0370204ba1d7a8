/**
 * Runs a stage against Kafka: consume a batch, decode (poison -> dead-letter topic), process in
 * the partition's task, punctuate, produce what the task forwarded, and only then commit the
 * input offsets that are safe (nothing before them lives only in memory). Output is therefore
 * at-least-once with keyed, idempotent consumers downstream.
 *
 * Bounded mode (the demo, replays): end offsets are taken when start() is called; once every
 * partition has been read up to them, all tasks get END_OF_STREAM (every window closes), the
 * results are produced and committed, and done() resolves.
 */
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { errorMessage, isTaplineError } from '../../lib/errors';
import type { KafkaClient, InBatch, OffsetCommit, OutMessage, TaplineConsumer, TaplineProducer } from '../../lib/kafka';
import { Task } from './task';
import { InputCodec } from './input-codec';
import { Completion, EndOffsets, prepareBoundedRun, type OffsetRange } from './bounded';
import { END_OF_STREAM, type StageDefinition } from './types';

export interface RunnerOptions {
  kafka: KafkaClient;
  deadLetterTopic: string;
  groupId?: string;
  /** Stop at the end offsets seen at start (from committed offsets, or exactly `range`). */
  bounded?: boolean;
  range?: OffsetRange;
}

export class StageRunner<V> {
  readonly metrics: ComponentMetrics;
  private readonly log;
  private readonly tasks = new Map<number, Task<V>>();
  private consumer: TaplineConsumer | null = null;
  private producer: TaplineProducer | null = null;
  private codec: InputCodec<V> | null = null;
  private ends: EndOffsets | null = null;
  private finished = false;
  private closed = false;
  private readonly completion = new Completion();

  constructor(readonly def: StageDefinition<V>, private readonly opts: RunnerOptions) {
    this.metrics = new ComponentMetrics(def.name);
    this.log = logger(def.name);
  }

  get groupId(): string { return this.opts.groupId ?? `tapline-${this.def.name}`; }

  async start(): Promise<void> {
    const { kafka } = this.opts;
    this.codec = new InputCodec<V>(this.def);
    this.producer = kafka.producer({ idempotent: true });
    await this.producer.connect();
    if (this.opts.bounded) {
      this.ends = await prepareBoundedRun(kafka, this.def.input.topic, this.groupId, this.opts.range);
      this.log.info({ endOffsets: this.ends.describe() }, 'bounded run: reading up to these end offsets');
      if (this.ends.complete) { await this.finish(); return; }
    }
    this.consumer = kafka.consumer(this.groupId);
    const startAt = this.opts.range ? { topic: this.def.input.topic, offsets: this.opts.range.from } : undefined;
    this.consumer.run([this.def.input.topic], (b) => this.onBatch(b), { startAt }).catch((e: Error) => this.completion.reject(e));
  }

  done(): Promise<void> { return this.completion.promise; }

  private task(partition: number): Task<V> {
    let t = this.tasks.get(partition);
    if (!t) { t = new Task(this.def, partition, this.metrics, this.log.child({ partition })); this.tasks.set(partition, t); }
    return t;
  }

  private async onBatch(batch: InBatch): Promise<void> {
    if (this.finished) return;
    const task = this.task(batch.partition);
    const deadLetters: OutMessage[] = [];
    for (const m of batch.messages) {
      if (this.ends?.before(batch.partition, m.offset)) continue; // replay: before the requested start
      if (this.ends?.beyond(batch.partition, m.offset)) break; // not part of this bounded run
      let values: V[];
      try {
        if (m.value === null) throw new Error('message has no value (tombstone)');
        values = this.codec!.decode(m.value);
      } catch (e) {
        const code = isTaplineError(e) ? e.code : 'AVRO_DECODE';
        this.metrics.error(code);
        this.metrics.dropped('dead-letter');
        deadLetters.push({
          key: m.key, value: m.value,
          headers: { 'tapline.reason': errorMessage(e), 'tapline.code': code, 'tapline.stage': this.def.name,
            'tapline.source': `${batch.topic}/${batch.partition}/${m.offset}` },
        });
        this.metrics.received();
        task.nextOffset = m.offset + 1n;
        continue;
      }
      this.metrics.received(values.length);
      const key = m.key?.toString() ?? null;
      for (const value of values) {
        task.process({ topic: batch.topic, partition: batch.partition, offset: m.offset, key, value, timestampNs: this.def.timestampOf(value) });
      }
    }
    task.punctuate();
    this.metrics.streamTime(task.streamTimeNs);
    await this.flush([task], deadLetters);
    if (this.ends?.advance(batch.partition, task.nextOffset)) await this.finish();
  }

  /** Produces everything the tasks forwarded, then commits their safe offsets. */
  private async flush(tasks: Task<V>[], deadLetters: OutMessage[] = [], commitAll = false): Promise<void> {
    const byTopic = new Map<string, OutMessage[]>();
    for (const t of tasks) for (const e of t.drain()) {
      const l = byTopic.get(e.topic) ?? [];
      l.push({ key: e.key, value: e.value });
      byTopic.set(e.topic, l);
    }
    if (deadLetters.length) byTopic.set(this.opts.deadLetterTopic, [...(byTopic.get(this.opts.deadLetterTopic) ?? []), ...deadLetters]);
    const batches = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    await this.producer!.sendMany(batches);
    for (const b of batches) if (b.topic !== this.opts.deadLetterTopic) this.metrics.sent(b.messages.length);
    const commits: OffsetCommit[] = [];
    for (const t of tasks) {
      const off = commitAll ? (t.nextOffset >= 0n ? t.nextOffset : null) : t.safeCommitOffset();
      if (off !== null) commits.push({ topic: this.def.input.topic, partition: t.partition, offset: off });
    }
    if (this.consumer) await this.consumer.commit(commits);
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try {
      const tasks = [...this.tasks.values()];
      for (const t of tasks) t.punctuate(END_OF_STREAM);
      await this.flush(tasks, [], true);
      this.completion.resolve();
    } catch (e) {
      this.completion.reject(e as Error);
    }
  }

  /** Safe to call twice. Open windows of an unbounded run stay uncommitted and are re-read. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.finished = true;
    await this.consumer?.close().catch(() => undefined);
    for (const t of this.tasks.values()) t.close();
    await this.producer?.close().catch(() => undefined);
  }
}
