/**
 * Runs a stage against Kafka, one task per assigned input partition.
 *
 * exactly_once (default): one Kafka transaction per task carries the outputs, the dead letters,
 * the changelog records of every store key changed since the last one, and the input offsets.
 * A transaction covers the batches of up to `commitIntervalMs` (Kafka Streams' commit.interval.ms
 * under EOS, 100 ms): per fetched batch, the transaction's round trips and markers would cost more
 * than the processing. A task caught up with its partition commits at once (no result waits for
 * the interval), and a timer commits a task that was left with uncommitted progress. A task's
 * transaction runs while its next batch is fetched and processed (one in flight per task).
 * A task's transactional id is <group>-<topic>-<partition>: whoever takes a partition over
 * (restart, rebalance) fences the previous owner before restoring the stores from the changelog,
 * so nothing is lost or counted twice. Downstream consumers read committed only. A task skips
 * records below its next offset: the consumer resumes at the committed offset after a group join,
 * which may be behind what a kept task holds (or behind a commit that landed just after it was read).
 *
 * at_least_once: outputs are produced (idempotent producer) and then the input offsets that are
 * safe are committed: nothing before them lives only in memory. Replays may re-emit windows.
 *
 * Bounded mode (the demo, replays): the end offsets are fixed at start(); once every partition
 * has been read up to them, all tasks get END_OF_STREAM, results are committed, done() resolves.
 */
import { ComponentMetrics } from '../../lib/metrics';
import { logger } from '../../lib/log';
import { DEFAULT_COMMIT_INTERVAL_MS } from '../../lib/config/schema';
import { errorMessage, isTaplineError } from '../../lib/errors';
import type { InBatch, KafkaClient, OutMessage, TaplineConsumer, TaplineProducer, TransactionalProducer } from '../../lib/kafka';
import { Task, type Rejected } from './task';
import { InputCodec } from './input-codec';
import { Completion, EndOffsets, prepareBoundedRun, type OffsetRange } from './bounded';
import { changelogBatches, ensureChangelogs, restoreTask } from './changelog';
import { GlobalFollower } from './global-follower';
import { END_OF_STREAM, originalValue, type StageDefinition } from './types';

export type Guarantee = 'exactly_once' | 'at_least_once';

export interface RunnerOptions {
  kafka: KafkaClient;
  deadLetterTopic: string;
  groupId?: string;
  guarantee?: Guarantee;
  /** Stop at the end offsets seen at start (from committed offsets, or exactly `range`). */
  bounded?: boolean;
  range?: OffsetRange;
  /**
   * exactly_once: the longest a task's processed records wait for their transaction, in ms
   * (default 100; 0 = a transaction per fetched batch). Replays of an offset range always commit
   * per batch: their consumer resumes after the last handled batch, not at the committed offsets.
   */
  commitIntervalMs?: number;
}

/** A commit of a task that was dropped meanwhile (see Slot.closed): nothing of it may be committed. */
class TaskDropped extends Error {}

interface Slot<V> {
  task: Task<V>;
  txn: TransactionalProducer | null;
  /** records processed (or dead letters waiting) since the last commit took its snapshot */
  uncommitted: boolean;
  deadLetters: OutMessage[];
  lastCommitMs: number;
  /** commits run one after the other (a timer's and a batch's may overlap otherwise) */
  committing: Promise<void>;
  timer: NodeJS.Timeout | null;
  /**
   * Dropped (revoked, restarted, failed): its progress is abandoned. A deferred commit must not
   * run then: it would reconnect the producer and fence the partition's next task.
   */
  closed: boolean;
  /** the input offset of the task's last successful commit (-1: none known): where a failed task's input is read again */
  committedOffset: bigint;
}

export class StageRunner<V> {
  readonly metrics: ComponentMetrics;
  private readonly log;
  private readonly slots = new Map<number, Promise<Slot<V>>>();
  /** each slot once its creation has finished: a failed commit removes its slot only if it is still the partition's */
  private readonly settled = new WeakMap<Promise<Slot<V>>, Slot<V>>();
  private consumer: TaplineConsumer | null = null;
  private globals: GlobalFollower | null = null;
  private producer: TaplineProducer | null = null;
  private codec: InputCodec<V> | null = null;
  private ends: EndOffsets | null = null;
  private finished = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly completion = new Completion();
  /** a background or timer commit that failed: thrown by the next batch, so the consumer restarts from the committed offsets */
  private failure: Error | null = null;
  readonly guarantee: Guarantee;
  private readonly commitIntervalMs: number;
  /** Commits made (exactly_once: Kafka transactions), for tests and benchmarks. */
  commits = 0;

  constructor(readonly def: StageDefinition<V>, private readonly opts: RunnerOptions) {
    this.metrics = new ComponentMetrics(def.name);
    this.log = logger(def.name);
    this.guarantee = opts.guarantee ?? 'exactly_once';
    this.commitIntervalMs = this.guarantee === 'exactly_once' && !opts.range ? opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS : 0;
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
      this.globals = new GlobalFollower(kafka, this.def.globals, this.metrics, this.groupId, (e) => {
        this.log.error({ err: e.message }, 'a global table stopped following its topic');
        this.completion.reject(e);
      });
      await this.globals.start(); // tasks see a caught-up inventory before their first record
    }
    if (this.guarantee === 'exactly_once') {
      await ensureChangelogs(kafka, this.groupId, this.def.stores, partitions);
    } else {
      this.producer = kafka.producer({ idempotent: true });
      await this.producer.connect();
    }
    // close() may have come while start() waited: it found nothing to close of what came after
    if (this.closed) { await this.closeStarted(); return; }
    if (this.opts.bounded) {
      this.ends = await prepareBoundedRun(kafka, this.def.input.topic, this.groupId, this.opts.range);
      this.log.info({ endOffsets: this.ends.describe() }, 'bounded run: reading up to these end offsets');
      if (this.ends.complete) { await this.finish(); return; }
    }
    if (this.closed) { await this.closeStarted(); return; }
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

  /**
   * After every group join. Partitions taken away: their tasks go (their state is in the
   * changelog). Partitions kept keep their task: kafkajs resumes them at the committed offset,
   * and onBatch skips what the task already holds (below its next offset).
   */
  private async onAssigned(partitions: number[]): Promise<void> {
    const revoked: [number, Promise<Slot<V>>][] = [];
    for (const [p, pending] of [...this.slots]) {
      if (partitions.includes(p)) continue;
      this.slots.delete(p); // at once, before a batch can reach the old task
      revoked.push([p, pending]);
    }
    for (const [p, pending] of revoked) {
      const slot = await pending.catch(() => null);
      if (slot) await this.dropSlot(slot);
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
      const created = this.createSlot(partition);
      s = created;
      this.slots.set(partition, s);
      s.then((slot) => { this.settled.set(created, slot); }, () => undefined);
      s.catch(() => { if (this.slots.get(partition) === s) this.slots.delete(partition); });
    }
    return s;
  }

  private async createSlot(partition: number): Promise<Slot<V>> {
    const task = new Task(this.def, partition, this.metrics, this.log.child({ partition }), this.globals?.tables);
    let txn: TransactionalProducer | null = null;
    let committed = -1n;
    if (this.guarantee === 'exactly_once') {
      // Fence first (aborting a previous owner's open transaction), then read the changelog.
      txn = this.opts.kafka.transactionalProducer(`${this.groupId}-${this.def.input.topic}-${partition}`);
      await txn.connect();
      const t0 = Date.now();
      const n = await restoreTask(this.opts.kafka, this.groupId, task);
      // The restored state includes every record below the committed offset, read now (after the
      // fencing, so no transaction of a previous owner is still landing). The consumer may start
      // below it (it fetched the offset before a last commit landed): onBatch skips those.
      committed = (await this.opts.kafka.committedOffsets(this.groupId, this.def.input.topic)).get(partition) ?? -1n;
      if (committed > task.nextOffset) task.nextOffset = committed;
      this.log.info({ partition, records: n, ms: Date.now() - t0, streamTime: String(task.streamTimeNs) }, 'task restored');
    } else {
      committed = (await this.opts.kafka.committedOffsets(this.groupId, this.def.input.topic)).get(partition) ?? -1n;
    }
    return { task, txn, uncommitted: false, deadLetters: [], lastCommitMs: Date.now(), committing: Promise.resolve(), timer: null, closed: false, committedOffset: committed };
  }

  private async onBatch(batch: InBatch): Promise<void> {
    if (this.failure) { const f = this.failure; this.failure = null; throw f; }
    if (this.finished) return;
    const slot = await this.slot(batch.partition);
    const { task, deadLetters } = slot;
    for (const m of batch.messages) {
      if (this.ends?.before(batch.partition, m.offset)) continue; // replay: before the requested start
      if (this.ends?.beyond(batch.partition, m.offset)) break; // not part of this bounded run
      // Delivered again (the consumer resumed at the committed offset after a group join while
      // this task had gone further, or a commit landed after the consumer read the offset): the
      // task already holds it.
      if (m.offset < task.nextOffset) continue;
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
      const message = this.codec!.message(m.value!) ?? undefined;
      for (let index = 0; index < values.length; index++) {
        const value = values[index];
        const rec = { topic: batch.topic, partition: batch.partition, offset: m.offset, key, value, timestampNs: -1n, message, index };
        try { rec.timestampNs = this.def.timestampOf(value); } catch (e) { task.reject(rec, e); continue; }
        task.process(rec);
      }
      if (task.nextOffset <= m.offset) task.nextOffset = m.offset + 1n; // every record of it was rejected
      for (const r of task.takeRejected()) deadLetters.push(this.rejectedLetter(r, batch.topic, m.value!));
    }
    slot.uncommitted = true;
    this.metrics.streamTime(task.streamTimeNs);
    if (this.commitIntervalMs === 0) { await this.commitSlot(batch.partition, slot, false); return; }
    // Caught up (a transaction marker may follow the last record): commit now, nothing more is
    // coming to share the transaction with. Otherwise at most every commitIntervalMs.
    const last = batch.messages[batch.messages.length - 1];
    const caughtUp = last === undefined || batch.highWatermark - (last.offset + 1n) <= 1n;
    if (caughtUp || Date.now() - slot.lastCommitMs >= this.commitIntervalMs) {
      // One transaction in flight per task: this batch was processed while the previous one
      // committed; wait for that, then commit in the background while the next batch is fetched
      // and processed (a failure is thrown by the next batch: the consumer restarts).
      await slot.committing;
      if (slot.closed) { const f = this.failure ?? new Error(`partition ${batch.partition}: the task was dropped`); this.failure = null; throw f; }
      this.commitInBackground(batch.partition, slot);
    } else if (slot.timer === null) {
      slot.timer = setTimeout(() => { slot.timer = null; this.commitInBackground(batch.partition, slot); },
        Math.max(0, slot.lastCommitMs + this.commitIntervalMs - Date.now()));
    }
  }

  /**
   * The dead letter of a record the processor threw on: that record alone, whole, as a message of
   * the input topic (so it can be replayed once fixed), else the message it came in.
   */
  private rejectedLetter(r: Rejected<V>, topic: string, raw: Buffer): OutMessage {
    let value = raw;
    try { value = this.codec!.encode([(originalValue(r.record) ?? r.record.value) as V]); } catch { /* keep the whole message */ }
    return { key: r.record.key === null ? null : Buffer.from(r.record.key), value, headers: {
      'tapline.reason': errorMessage(r.error), 'tapline.code': 'PROCESSING_FAILED', 'tapline.stage': this.def.name,
      'tapline.source': `${topic}/${r.record.partition}/${r.record.offset}`, 'tapline.index': String(r.record.index ?? 0) } };
  }

  private commitInBackground(partition: number, slot: Slot<V>): void {
    if (slot.closed) return;
    this.commitSlot(partition, slot, false).catch((e: Error) => {
      if (this.closed || e instanceof TaskDropped) return; // abandoned on purpose
      this.log.error({ partition, err: e.message }, 'commit failed: the consumer restarts from the committed offsets');
      this.failure ??= e;
    });
  }

  /** Abandons a task: no commit of it starts any more, one in flight ends first, then its producer closes. */
  private async dropSlot(slot: Slot<V>): Promise<void> {
    if (slot.closed) return;
    slot.closed = true;
    if (slot.timer) { clearTimeout(slot.timer); slot.timer = null; }
    await slot.committing;
    slot.task.close();
    await slot.txn?.close();
  }

  /**
   * Commits what the task did since the last commit (after any commit still in flight). On
   * failure the task's memory is ahead of what Kafka holds: the task is dropped, and the
   * consumer restarts from the committed offsets while the next owner restores the committed state.
   */
  private commitSlot(partition: number, slot: Slot<V>, final: boolean): Promise<void> {
    if (slot.timer) { clearTimeout(slot.timer); slot.timer = null; }
    const run = slot.committing.then(async () => {
      if (slot.closed) throw new TaskDropped(`the task of partition ${partition} was dropped; its progress is read again from the committed offsets`);
      if (!slot.uncommitted && !final) return;
      slot.uncommitted = false;
      const deadLetters = slot.deadLetters.splice(0);
      slot.lastCommitMs = Date.now();
      try {
        await this.commit(slot, deadLetters, final);
        this.commits++;
      } catch (e) {
        this.rewind(partition, slot.committedOffset);
        const current = this.slots.get(partition);
        if (current && this.settled.get(current) === slot) this.slots.delete(partition);
        slot.closed = true;
        slot.task.close();
        await slot.txn?.close();
        this.metrics.error('KAFKA_COMMIT');
        throw e;
      }
    });
    slot.committing = run.catch(() => undefined);
    return run;
  }

  /**
   * The consumer reads `partition` again from `offset` (the failed task's last commit): kafkajs
   * would otherwise go on after the last batch a handler returned from, and the records that only
   * the dropped task held (a deferred commit's batches; at-least-once: all its live state) would
   * be lost. Synchronous, so no batch reaches the partition's next task before the seek is set.
   */
  private rewind(partition: number, offset: bigint): void {
    try {
      this.consumer?.seek(this.def.input.topic, partition, offset < 0n ? 0n : offset);
    } catch (e) {
      this.log.error({ partition, err: errorMessage(e) }, 'could not rewind the consumer after a failed commit');
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
      if (offsets) slot.committedOffset = offsets.offset;
    } else {
      await this.producer!.sendMany(out);
      const off = final ? (task.nextOffset >= 0n ? task.nextOffset : null) : task.safeCommitOffset();
      if (off !== null && this.consumer) { await this.consumer.commit([{ topic: this.def.input.topic, partition: task.partition, offset: off }]); slot.committedOffset = off; }
    }
    for (const b of out) if (b.topic !== this.opts.deadLetterTopic) this.metrics.sent(b.messages.length);
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try {
      // A deferred commit failed and no batch came after it to restart the consumer: the records
      // since the last commit are in no task any more. Fail loudly rather than end without them.
      if (this.failure) throw this.failure;
      for (const [partition, pending] of this.slots) {
        const slot = await pending;
        slot.task.punctuate(END_OF_STREAM);
        await this.commitSlot(partition, slot, true);
      }
      this.completion.resolve();
    } catch (e) {
      this.completion.reject(e as Error);
    }
  }

  /** Safe to call twice. Uncommitted progress is re-read by the next owner of each partition. */
  /** Safe twice; a second call returns once the first has finished. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    this.finished = true;
    await this.consumer?.close().catch(() => undefined);
    for (const pending of this.slots.values()) {
      const s = await pending.catch(() => null);
      if (s) await this.dropSlot(s);
    }
    this.slots.clear();
    await this.closeStarted();
  }

  /** What start() opens before the consumer (both are safe twice). */
  private async closeStarted(): Promise<void> {
    await this.producer?.close().catch(() => undefined);
    await this.globals?.close();
  }
}
