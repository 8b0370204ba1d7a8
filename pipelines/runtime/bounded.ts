/**
 * End-of-input tracking for bounded runs (the demo, replays, tests): the end offsets of the
 * input topic are fixed when the run starts; the run is complete once every partition that had
 * unread records has been consumed up to its end offset.
 */
import type { KafkaClient } from '../../lib/kafka';

export class EndOffsets {
  private readonly ends: Map<number, bigint>;
  private constructor(private readonly remaining: Map<number, bigint>, readonly starts: Map<number, bigint> | null = null) {
    this.ends = new Map(remaining);
  }

  /** True when a record at `offset` lies beyond this run's end (written after the run began). */
  beyond(partition: number, offset: bigint): boolean {
    const end = this.ends.get(partition);
    return end === undefined || offset >= end;
  }

  /** True when a record precedes this run's start (delivered before the consumer's seek applied). */
  before(partition: number, offset: bigint): boolean {
    return this.starts !== null && offset < (this.starts.get(partition) ?? 0n);
  }

  static async capture(kafka: KafkaClient, topic: string, groupId: string): Promise<EndOffsets> {
    const ends = await kafka.endOffsets(topic);
    const committed = await kafka.committedOffsets(groupId, topic);
    const remaining = new Map<number, bigint>();
    for (const [p, end] of ends) if (end > 0n && (committed.get(p) ?? -1n) < end) remaining.set(p, end);
    return new EndOffsets(remaining);
  }

  /** Exactly the records between two snapshots of end offsets (what one run published). */
  static between(start: Map<number, bigint>, end: Map<number, bigint>): EndOffsets {
    const remaining = new Map<number, bigint>();
    for (const [p, e] of end) if (e > (start.get(p) ?? 0n)) remaining.set(p, e);
    return new EndOffsets(remaining, new Map(start));
  }

  get complete(): boolean { return this.remaining.size === 0; }

  /** Records that `partition` has been read up to `nextOffset`; true when the whole run is complete. */
  advance(partition: number, nextOffset: bigint): boolean {
    const end = this.remaining.get(partition);
    if (end !== undefined && nextOffset >= end) this.remaining.delete(partition);
    return this.complete;
  }

  describe(): Record<string, string> {
    return Object.fromEntries([...this.remaining].map(([p, o]) => [String(p), o.toString()]));
  }
}

/** Input range of a bounded run: `from` (per partition) is where the group starts reading. */
export interface OffsetRange { from: Map<number, bigint>; to: Map<number, bigint> }

/**
 * What a bounded run reads: from the group's committed offsets to the current ends, or exactly
 * `range` (the consumer then seeks to range.from: see TaplineConsumer.run's startAt).
 */
export async function prepareBoundedRun(kafka: KafkaClient, topic: string, groupId: string, range?: OffsetRange): Promise<EndOffsets> {
  if (!range) return EndOffsets.capture(kafka, topic, groupId);
  return EndOffsets.between(range.from, range.to);
}

/** A promise with its settle functions, for runs that finish from inside a consumer callback. */
export class Completion {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (e: Error) => void;
  constructor() {
    this.promise = new Promise<void>((res, rej) => { this.resolve = res; this.reject = rej; });
    this.promise.catch(() => undefined); // observed through done(); avoid unhandled rejections
  }
}
