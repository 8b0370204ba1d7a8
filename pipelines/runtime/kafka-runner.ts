/**
 * Runs a stage against Kafka, one task per assigned input partition.
 *
 * exactly_once (default): per input batch, one Kafka transaction per task carries the outputs,
 * the dead letters, the changelog records of every store key the batch changed, and the input
 * offsets. A task's transactional id is <group>-<topic>-<partition>: whoever takes a partition
 * over (restart, rebalance) fences the previous owner before restoring the stores from the
 * changelog, so nothing is lost or counted twice. Downstream consumers read committed only.
 *
 * at_least_once: outputs are produced (idempotent producer) and then the input offsets that are
 * safe are committed: nothing before them lives only in memory. Replays may re-emit windows.
 *
 * Bounded mode (the demo, replays): the end offsets are fixed at start(); once every partition
 * has been read up to them, all tasks get END_OF_STREAM, results are committed, done() resolves.
 */
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { errorMessage, isTaplineError } from '../../lib/errors';
import type { InBatch, KafkaClient, OutMessage, TaplineConsumer, TaplineProducer, TransactionalProducer } from '../../lib/kafka';
import { Task } from './task';
import { InputCodec } from './input-codec';
import { Completion, EndOffsets, prepareBoundedRun, type OffsetRange } from './bounded';
import { changelogBatches, ensureChangelogs, restoreTask } from './changelog';
import { GlobalFollower } from './global-follower';
import { END_OF_STREAM, type StageDefinition } from './types';

export type Guarantee = 'exactly_once' | 'at_least_once';

export interface RunnerOptions {
  kafka: KafkaClient;
  deadLetterTopic: string;
  groupId?: string;
  guarantee?: Guarantee;
  /** Stop at the end offsets seen at start (from committed offsets, or exactly `range`). */
  bounded?: boolean;
  range?: OffsetRange;
}

interface Slot<V> { task: Task<V>; txn: TransactionalProducer | null }

export class StageRunner<V> {
  readonly metrics: ComponentMetrics;
  private readonly log;
  private readonly slots = new Map<number, Promise<Slot<V>>>();
  private consumer: TaplineConsumer | null = null;
  private globals: GlobalFollower | null = null;
  private producer: TaplineProducer | null = null;
  private codec: InputCodec<V> | null = null;
  private ends: EndOffsets | null = null;
  private finished = false;
  private closed = false;
  private readonly completion = new Completion();
  readonly guarantee: Guarantee;

  constructor(readonly def: StageDefinition<V>, private readonly opts: RunnerOptions) {
    this.metrics = new ComponentMetrics(def.name);
    this.log = logger(def.name);
    this.guarantee = opts.guarantee ?? 'exactly_once';
  }

  get groupId(): string { return this.opts.groupId ?? `tapline-${this.def.name}`; }

  async start(): Promise<void> {
    const { kafka } = this.opts;
    this.codec = new InputCodec<V>(this.def);
    // Output topics get the input's partition count (keys keep their co-partitioning downstream).
    const partitions = await kafka.partitionCount(this.def.input.topic);
    await kafka.ensureTopics([...Object.keys(this.def.outputs).map((topic) => ({ topic, partitions })),
      { topic: this.opts.deadLetterTopic, partitions: 1 }]);
    if (this.def.globals?.length) {
      this.globals = new GlobalFollower(kafka, this.def.globals, this.metrics, this.groupId);
      await this.globals.start(); // tasks see a caught-up inventory before their first record
    }
    if (this.guarantee === 'exactly_once') {
      await ensureChangelogs(kafka, this.groupId, this.def.stores, partitions);
    } else {
      this.producer = kafka.producer({ idempotent: true });
      await this.producer.connect();
    }
    if (this.opts.bounded) {
      this.ends = await prepareBoundedRun(kafka, this.def.input.topic, this.groupId, this.opts.range);
      this.log.info({ endOffsets: this.ends.describe() }, 'bounded run: reading up to these end offsets');
      if (this.ends.complete) { await this.finish(); return; }
    }
    this.consumer = kafka.consumer(this.groupId);
    const startAt = this.opts.range ? { topic: this.def.input.topic, offsets: this.opts.range.from } : undefined;
    this.consumer.run([this.def.input.topic], (b) => this.onBatch(b), {
      startAt,
      onAssigned: (a) => { void this.onAssigned(a.get(this.def.input.topic) ?? []); },
      onProgress: (_t, p, next) => { if (this.ends?.advance(p, next)) void this.finish(); },
      onCrash: (e) => { this.log.error({ err: e.message }, 'consumer stopped'); this.completion.reject(e); },
    }).catch((e: Error) => this.completion.reject(e));
  }

  done(): Promise<void> { return this.completion.promise; }

  /** Partitions taken away by a rebalance: their tasks go (their state is in the changelog). */
  private async onAssigned(partitions: number[]): Promise<void> {
    for (const [p, pending] of [...this.slots]) {
      if (partitions.includes(p)) continue;
      this.slots.delete(p);
      const slot = await pending.catch(() => null);
      slot?.task.close();
      await slot?.txn?.close();
      this.log.info({ partition: p }, 'partition revoked');
    }
    // Take the new partitions over now (fence the previous owner, restore the stores) rather
    // than at their first record, as Kafka Streams does: a partition with no new input is still
    // owned, and the first batch does not wait for the restore.
    for (const p of partitions) this.slot(p).catch((e: Error) => this.log.error({ partition: p, err: e.message }, 'taking the partition over failed'));
  }

  /** The partition's slot, created once (concurrent callers share the same creation). */
  private slot(partition: number): Promise<Slot<V>> {
    let s = this.slots.get(partition);
    if (!s) {
      s = this.createSlot(partition);
      this.slots.set(partition, s);
      s.catch(() => { if (this.slots.get(partition) === s) this.slots.delete(partition); });
    }
    return s;
  }

  private async createSlot(partition: number): Promise<Slot<V>> {
    const task = new Task(this.def, partition, this.metrics, this.log.child({ partition }), this.globals?.tables);
    let txn: TransactionalProducer | null = null;
    if (this.guarantee === 'exactly_once') {
      // Fence first (aborting a previous owner's open transaction), then read the changelog.
      txn = this.opts.kafka.transactionalProducer(`${this.groupId}-${this.def.input.topic}-${partition}`);
      await txn.connect();
      const t0 = Date.now();
      const n = await restoreTask(this.opts.kafka, this.groupId, task);
      this.log.info({ partition, records: n, ms: Date.now() - t0, streamTime: String(task.streamTimeNs) }, 'task restored');
    }
    return { task, txn };
  }

  private async onBatch(batch: InBatch): Promise<void> {
    if (this.finished) return;
    const slot = await this.slot(batch.partition);
    const { task } = slot;
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
        this.metrics.received();
        this.metrics.error(code);
        this.metrics.dropped('dead-letter');
        deadLetters.push({ key: m.key, value: m.value, headers: { 'tapline.reason': errorMessage(e), 'tapline.code': code,
          'tapline.stage': this.def.name, 'tapline.source': `${batch.topic}/${batch.partition}/${m.offset}` } });
        task.nextOffset = m.offset + 1n;
        continue;
      }
      this.metrics.received(values.length);
      const key = m.key?.toString() ?? null;
      for (const value of values) {
        task.process({ topic: batch.topic, partition: batch.partition, offset: m.offset, key, value, timestampNs: this.def.timestampOf(value) });
      }
    }
    this.metrics.streamTime(task.streamTimeNs);
    try {
      await this.commit(slot, deadLetters, false);
    } catch (e) {
      // The task's memory is now ahead of what Kafka holds: drop it; the consumer restarts from
      // the committed offsets and the next owner restores the committed state.
      this.slots.delete(batch.partition);
      task.close();
      await slot.txn?.close();
      this.metrics.error('KAFKA_COMMIT');
      throw e;
    }
  }

  private outputs(task: Task<V>, deadLetters: OutMessage[]): { topic: string; messages: OutMessage[] }[] {
    const byTopic = new Map<string, OutMessage[]>();
    for (const e of task.drain()) {
      const l = byTopic.get(e.topic) ?? [];
      l.push({ key: e.key, value: e.value });
      byTopic.set(e.topic, l);
    }
    if (deadLetters.length) byTopic.set(this.opts.deadLetterTopic, [...(byTopic.get(this.opts.deadLetterTopic) ?? []), ...deadLetters]);
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  /** Makes the task's progress durable, the way the guarantee requires. */
  private async commit(slot: Slot<V>, deadLetters: OutMessage[], final: boolean): Promise<void> {
    const { task } = slot;
    const out = this.outputs(task, deadLetters);
    if (slot.txn) {
      const offsets = task.nextOffset >= 0n ? { groupId: this.groupId, topic: this.def.input.topic, partition: task.partition, offset: task.nextOffset } : null;
      await slot.txn.commit([...out, ...changelogBatches(this.groupId, task)], offsets);
    } else {
      await this.producer!.sendMany(out);
      const off = final ? (task.nextOffset >= 0n ? task.nextOffset : null) : task.safeCommitOffset();
      if (off !== null && this.consumer) await this.consumer.commit([{ topic: this.def.input.topic, partition: task.partition, offset: off }]);
    }
    for (const b of out) if (b.topic !== this.opts.deadLetterTopic) this.metrics.sent(b.messages.length);
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try {
      for (const pending of this.slots.values()) {
        const slot = await pending;
        slot.task.punctuate(END_OF_STREAM);
        await this.commit(slot, [], true);
      }
      this.completion.resolve();
    } catch (e) {
      this.completion.reject(e as Error);
    }
  }

  /** Safe to call twice. Uncommitted progress is re-read by the next owner of each partition. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.finished = true;
    await this.consumer?.close().catch(() => undefined);
    for (const pending of this.slots.values()) {
      const s = await pending.catch(() => null);
      s?.task.close();
      await s?.txn?.close();
    }
    this.slots.clear();
    await this.producer?.close().catch(() => undefined);
    await this.globals?.close();
  }
}
