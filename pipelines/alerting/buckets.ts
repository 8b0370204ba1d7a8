/**
 * Event-time evaluation windows of a detector task. Records are counted into tumbling buckets
 * of `windowNs` by their event time; a bucket is evaluated once the task's stream time is
 * `latenessNs` past its end. Empty buckets are evaluated too (alerts of subjects that went
 * quiet must count clear windows), but after a long silence only the last `maxEmptyRounds`
 * are, since more change nothing. The progress lives in a store (restored with the task).
 */
import { END_OF_STREAM, type KeyValueStore } from '../runtime/types';

export const CLOCK_STORE = 'detect-clock';
const KEY = 'closedUntil';

export class BucketClock {
  constructor(private readonly store: KeyValueStore<bigint>, readonly windowNs: bigint, private readonly latenessNs: bigint,
    private readonly maxEmptyRounds = 64) {}

  bucketOf(tsNs: bigint): bigint { return tsNs - (((tsNs % this.windowNs) + this.windowNs) % this.windowNs); }

  /** Event time up to which buckets were evaluated (null before the first record). */
  get closedUntil(): bigint | null { return this.store.get(KEY) ?? null; }

  /**
   * Is this record's bucket already evaluated (a late record)? Starts the clock at the first
   * record, `latenessNs` before its bucket: the first record to arrive need not be the oldest,
   * and one that is up to the lateness older is on time like any other.
   */
  isLate(tsNs: bigint): boolean {
    const b = this.bucketOf(tsNs);
    const c = this.closedUntil;
    if (c === null) { this.store.put(KEY, this.bucketOf(b - this.latenessNs)); return false; }
    return b < c;
  }

  /**
   * The bucket starts to evaluate now, ascending: every bucket in `dataBuckets` that is due and
   * the empty ones between. END_OF_STREAM evaluates the buckets holding data and nothing after.
   */
  due(streamTimeNs: bigint, dataBuckets: Iterable<bigint>): bigint[] {
    const from = this.closedUntil;
    if (from === null) return [];
    const data = [...new Set(dataBuckets)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let limit: bigint; // buckets starting before `limit` are due
    if (streamTimeNs === END_OF_STREAM) {
      limit = data.length ? data[data.length - 1] + this.windowNs : from;
    } else {
      // bucket b is due when b + window + lateness <= stream time
      limit = this.bucketOf(streamTimeNs - this.latenessNs - this.windowNs) + this.windowNs;
    }
    if (limit <= from) return [];
    const out = new Set<bigint>(data.filter((b) => b < limit));
    const rounds = (limit - from) / this.windowNs;
    const emptyFrom = rounds > BigInt(this.maxEmptyRounds) ? limit - BigInt(this.maxEmptyRounds) * this.windowNs : from;
    for (let b = emptyFrom; b < limit; b += this.windowNs) out.add(b);
    this.store.put(KEY, limit);
    return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
