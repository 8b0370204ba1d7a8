/**
 * In-memory key-value store, made durable by the runner:
 * - exactly-once: every key changed since the last commit is written to the store's compacted
 *   changelog topic in the same Kafka transaction as the outputs and input offsets, and the
 *   store is rebuilt from that changelog when its partition is (re)assigned;
 * - at-least-once: it remembers, per live key, the input offset that created it, so the runner
 *   never commits past input that still lives only in memory (a restart re-reads it).
 * Processors must put() a value again after mutating it, or the change is not recorded.
 */
import type { KeyValueStore } from './types';

export class InMemoryStore<V> implements KeyValueStore<V> {
  private readonly map = new Map<string, V>();
  private readonly firstOffset = new Map<string, bigint>();
  /** keys changed since the last takeChanges(); undefined = deleted */
  private readonly dirty = new Map<string, V | undefined>();
  /** set by the task before each process() call */
  currentOffset = -1n;

  constructor(readonly name: string) {}

  get(key: string): V | undefined { return this.map.get(key); }

  put(key: string, value: V): void {
    if (!this.map.has(key) && this.currentOffset >= 0n) this.firstOffset.set(key, this.currentOffset);
    this.map.set(key, value);
    this.dirty.set(key, value);
  }

  delete(key: string): void {
    this.map.delete(key);
    this.firstOffset.delete(key);
    this.dirty.set(key, undefined);
  }

  /** The changes since the last call (for the changelog), and forgets them. */
  takeChanges(): [string, V | undefined][] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }

  /** Applies one changelog record while restoring (not itself a change). */
  restore(key: string, value: V | undefined): void {
    if (value === undefined) this.map.delete(key);
    else this.map.set(key, value);
  }

  entries(): IterableIterator<[string, V]> { return this.map.entries(); }

  get size(): number { return this.map.size; }

  /** Lowest input offset still needed to rebuild this store, or null when it holds nothing. */
  lowestLiveOffset(): bigint | null {
    let low: bigint | null = null;
    for (const o of this.firstOffset.values()) if (low === null || o < low) low = o;
    return low;
  }
}
