/**
 * In-memory key-value store. It remembers, per live key, the input offset that created it, so
 * the runner never commits past input that still lives only in memory (a restart re-reads it).
 */
import type { KeyValueStore } from './types';

export class InMemoryStore<V> implements KeyValueStore<V> {
  private readonly map = new Map<string, V>();
  private readonly firstOffset = new Map<string, bigint>();
  /** set by the task before each process() call */
  currentOffset = -1n;

  constructor(readonly name: string) {}

  get(key: string): V | undefined { return this.map.get(key); }

  put(key: string, value: V): void {
    if (!this.map.has(key) && this.currentOffset >= 0n) this.firstOffset.set(key, this.currentOffset);
    this.map.set(key, value);
  }

  delete(key: string): void { this.map.delete(key); this.firstOffset.delete(key); }

  entries(): IterableIterator<[string, V]> { return this.map.entries(); }

  get size(): number { return this.map.size; }

  /** Lowest input offset still needed to rebuild this store, or null when it holds nothing. */
  lowestLiveOffset(): bigint | null {
    let low: bigint | null = null;
    for (const o of this.firstOffset.values()) if (low === null || o < low) low = o;
    return low;
  }
}
