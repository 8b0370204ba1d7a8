/**
 * The consumer: whole batches to the caller, nothing committed automatically, and progress
 * reports that include batches holding only transaction markers or aborted records (those
 * never reach the handler, but a reader waiting for an end offset must see it reached).
 */
import type { Consumer } from 'kafkajs';
import type { InBatch, InMessage, OffsetCommit } from './client';

/** heartbeat() keeps group membership alive while a handler waits (e.g. retrying a database). */
export type BatchHandler = (batch: InBatch, ctl: { heartbeat(): Promise<void> }) => Promise<void>;

export interface RunOptions {
  fromBeginning?: boolean;
  /** Replays: positions to seek to once the consumer runs. */
  startAt?: { topic: string; offsets: Map<number, bigint> };
  /** Called after every fetched batch with the next offset to read (markers included). */
  onProgress?: (topic: string, partition: number, nextOffset: bigint) => void;
  /** Called after each group join with this member's partitions per topic. */
  onAssigned?: (assignment: Map<string, number[]>) => void;
  /**
   * Called when the consumer stopped for good (kafkajs crashed it with an error it will not
   * restart from, e.g. a handler that keeps failing non-retriably). Without it such a consumer
   * would just go quiet and a bounded run would wait forever.
   */
  onCrash?: (error: Error) => void;
}

export class TaplineConsumer {
  private running = false;
  /** explicit start positions (RunOptions.startAt), re-applied at every group join; seek() moves them too */
  private startAt: { topic: string; next: Map<number, bigint> } | null = null;
  constructor(private readonly c: Consumer) {}

  /**
   * Delivers batches one partition at a time; nothing is committed automatically. The handler
   * commits with commit() once its output is safely written (at-least-once, idempotent sinks).
   */
  async run(topics: string[], handler: BatchHandler, opts: RunOptions = {}): Promise<void> {
    const { onProgress, onAssigned } = opts;
    // Batches handed to eachBatch but skipped as stale (a rebalance or seek happened meanwhile):
    // kafkajs still emits END_BATCH_PROCESS for them, which must not count as progress, or a
    // bounded run would finish without the records the next fetch delivers again.
    const skipped = new Set<string>();
    if (onProgress) {
      // END_BATCH_PROCESS also fires for batches of only control records / aborted messages.
      this.c.on(this.c.events.END_BATCH_PROCESS, (e) => {
        const last = e.payload.lastOffset;
        if (last === null || last === undefined) return;
        if (skipped.delete(`${e.payload.topic}/${e.payload.partition}/${last}`)) return;
        onProgress(e.payload.topic, e.payload.partition, BigInt(last) + 1n);
      });
    }
    if (opts.onCrash) {
      const onCrash = opts.onCrash;
      this.c.on(this.c.events.CRASH, (e) => {
        if (!e.payload.restart && this.running) onCrash(e.payload.error instanceof Error ? e.payload.error : new Error(String(e.payload.error)));
      });
    }
    if (onAssigned) {
      this.c.on(this.c.events.GROUP_JOIN, (e) => {
        onAssigned(new Map(Object.entries(e.payload.memberAssignment).map(([t, ps]) => [t, ps as number[]])));
      });
    }
    // Explicit start positions (replays). kafkajs can only seek once its consumer group exists,
    // and forgets seeks when it re-creates the group (it restarts the consumer after some errors,
    // seen during the first join on a busy machine): so every join seeks each partition to where
    // this run stands — the requested start, or past the last batch handled.
    const next = new Map<number, bigint>(opts.startAt?.offsets ?? []);
    if (opts.startAt) this.startAt = { topic: opts.startAt.topic, next };
    const seekAll = (): void => {
      if (!opts.startAt) return;
      for (const [partition, offset] of next) this.c.seek({ topic: opts.startAt.topic, partition, offset: offset.toString() });
    };
    if (opts.startAt) this.c.on(this.c.events.GROUP_JOIN, () => { try { seekAll(); } catch { /* the next join seeks */ } });
    await this.c.connect();
    await this.c.subscribe({ topics, fromBeginning: opts.fromBeginning ?? true });
    this.running = true;
    const running = this.c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) { if (onProgress) skipped.add(`${batch.topic}/${batch.partition}/${batch.lastOffset()}`); return; }
        const msgs: InMessage[] = batch.messages.map((m) => ({
          offset: BigInt(m.offset),
          key: m.key,
          value: m.value,
          timestampMs: Number(m.timestamp),
          headers: textHeaders(m.headers),
        }));
        await handler({ topic: batch.topic, partition: batch.partition, messages: msgs, highWatermark: BigInt(batch.highWatermark) }, { heartbeat });
        const last = batch.messages[batch.messages.length - 1];
        if (last) {
          resolveOffset(last.offset);
          if (opts.startAt?.topic === batch.topic) next.set(batch.partition, BigInt(last.offset) + 1n);
        }
        await heartbeat();
      },
    });
    await running;
    // Records fetched before a seek takes effect are the caller's to skip (it knows its range).
    try { seekAll(); } catch { /* the GROUP_JOIN listener seeks */ }
  }

  /**
   * The partition is read again from `offset`, from its next fetch on (e.g. a task whose
   * commit failed: its input since its last commit). Synchronous: no batch fetched after this
   * call is handed over from the old position.
   */
  seek(topic: string, partition: number, offset: bigint): void {
    if (this.startAt?.topic === topic) this.startAt.next.set(partition, offset);
    this.c.seek({ topic, partition, offset: offset.toString() });
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.c.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset.toString() })));
  }

  pause(topic: string, partitions?: number[]): void { this.c.pause([{ topic, partitions }]); }
  resume(topic: string): void { this.c.resume([{ topic }]); }

  async close(): Promise<void> {
    if (!this.running) { await this.c.disconnect().catch(() => undefined); return; }
    this.running = false;
    await this.c.disconnect();
  }
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Header values as text; most messages have none, and they share one empty object (no allocation per message). */
function textHeaders(h: Record<string, unknown> | undefined): Record<string, string> {
  if (h === undefined) return NO_HEADERS;
  let out: Record<string, string> | null = null;
  for (const k in h) {
    out ??= {};
    const v = h[k];
    out[k] = v === undefined ? '' : String(v);
  }
  return out ?? NO_HEADERS;
}
